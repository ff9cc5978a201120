"""What training changes in a slice: plausible for a registered axial slice, and what other pipelines change.

Everything runs in torch on whole batches, on the training device; the random
parameters are drawn on the CPU from a numpy Generator so that a run is
reproducible on any device.
"""

import numpy as np
import torch
import torch.nn.functional as F


def augment_batch(x, rng, recipe):
    """Plausible changes for registered axial slices: L-R flip, small affine, gamma.

    ``x``: (B, S, S) float 0..255 on the training device; ``rng``: numpy Generator
    (the parameters are drawn on the CPU so a run is reproducible on any device).
    """
    b = len(x)
    flip = torch.as_tensor(rng.random(b) < recipe["aug_flip"], device=x.device)
    x = torch.where(flip[:, None, None], x.flip(-1), x)
    angle = np.deg2rad(rng.uniform(-recipe["aug_rotate_deg"], recipe["aug_rotate_deg"], b))
    scale = 1.0 + rng.uniform(-recipe["aug_scale"], recipe["aug_scale"], b)
    shift = rng.uniform(-recipe["aug_shift"], recipe["aug_shift"], (b, 2)) * 2  # in [-1, 1] units
    # affine_grid maps output to input coordinates: the inverse of "rotate, scale, shift".
    cos, sin = np.cos(angle) / scale, np.sin(angle) / scale
    theta = np.stack([np.stack([cos, sin, -(cos * shift[:, 0] + sin * shift[:, 1])], 1),
                      np.stack([-sin, cos, -(-sin * shift[:, 0] + cos * shift[:, 1])], 1)], 1)
    theta = torch.as_tensor(theta, dtype=torch.float32, device=x.device)
    grid = F.affine_grid(theta, (b, 1, *x.shape[1:]), align_corners=False)
    x = F.grid_sample(x[:, None], grid, mode="bilinear", padding_mode="zeros", align_corners=False)[:, 0]
    x = other_pipeline(x, rng, recipe)
    if recipe["aug_gamma"]:
        gamma = torch.as_tensor(np.exp(rng.uniform(-recipe["aug_gamma"], recipe["aug_gamma"], b)),
                                dtype=torch.float32, device=x.device)
        x = 255.0 * (x / 255.0).clamp(0, 1) ** gamma[:, None, None]
    return x


def other_pipeline(x, rng, recipe):
    """Resolution loss, blur and a bias field, each drawn per slice; ranges of 0 switch them off.

    Half the slices keep their resolution and sharpness, so the network still sees
    the training data as it is.
    """
    b, side = len(x), x.shape[-1]
    factor = np.where(rng.random(b) < 0.5, 1.0, rng.uniform(1.0, max(recipe.get("aug_resolution", 1.0), 1.0), b))
    for i in np.flatnonzero(factor > 1.01):
        low = F.interpolate(x[i][None, None], size=max(int(side / factor[i]), 8), mode="area")
        x[i] = F.interpolate(low, size=(side, side), mode="bilinear", align_corners=False)[0, 0]
    sigma = np.where(rng.random(b) < 0.5, 0.0, rng.uniform(0, recipe.get("aug_blur", 0.0), b))
    if sigma.max() > 0.05:
        x = gaussian_blur(x, sigma)
    strength = recipe.get("aug_bias", 0.0)
    if strength:
        coords = torch.linspace(-1, 1, side, device=x.device)
        yy, xx = torch.meshgrid(coords, coords, indexing="ij")
        terms = torch.stack([xx, yy, xx * yy, xx ** 2 - 0.5, yy ** 2 - 0.5])  # smooth, low order
        coef = torch.as_tensor(rng.uniform(-strength, strength, (b, len(terms))), dtype=torch.float32,
                               device=x.device) / 2
        x = x * torch.exp(torch.einsum("bt,thw->bhw", coef, terms))
    return x


def gaussian_blur(x, sigma):
    """Each slice of ``x`` (B, S, S) blurred with its own ``sigma`` (pixels; 0 leaves it sharp)."""
    radius = int(np.ceil(3 * max(sigma.max(), 1e-3)))
    offsets = np.arange(-radius, radius + 1, dtype=np.float64)
    kernels = np.exp(-offsets[None] ** 2 / (2 * np.maximum(sigma[:, None], 1e-3) ** 2))
    kernels = torch.as_tensor(kernels / kernels.sum(1, keepdims=True), dtype=torch.float32, device=x.device)
    b = len(x)
    out = F.conv2d(F.pad(x[None], (radius, radius, 0, 0), mode="replicate"), kernels[:, None, None, :], groups=b)
    out = F.conv2d(F.pad(out, (0, 0, radius, radius), mode="replicate"), kernels[:, None, :, None], groups=b)
    return out[0]
