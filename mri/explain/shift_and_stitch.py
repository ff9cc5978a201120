"""Grad-CAM on a finer grid of the same network, by shift and stitch (Long, Shelhamer and Darrell, FCN, 2015).

``layer4`` sees the input through a stride of about 27-32 input pixels, so at the served 80 px its map is 3 x 3.
Shifting the input by a fraction of a cell moves what each cell sees by that fraction: with ``STEPS`` shifts in
each direction (a fine cell, ``size / (h * STEPS)`` px, apart), cell ``j`` of the map of the input moved by ``d``
is the original image's location ``centre_j - d``. Interleaving the ``STEPS ** 2`` coarse maps gives a map
``STEPS`` times finer of the same network (9 x 9 at 80 px), each of its values a plain closed-form Grad-CAM
value (:mod:`.grad_cam`) of one shifted input. The centre of every ``STEPS`` x ``STEPS`` block is the unshifted
Grad-CAM. The input is moved over black, as the app pads a crop (the value black has after normalisation: the
input's darkest). All in the engine's forward pass: one extra batch through the network, tensor code that
tracing and ONNX export follow.
"""

from collections.abc import Callable

import torch
import torch.nn.functional as F

from mri.explain.grad_cam import GradCAM
from mri.explain.method import register

STEPS = 3


def offsets(size: int, cells: int, steps: int = STEPS) -> list[int]:
    """The shifts (input px) that put fine sub-cell ``m`` (0 .. steps-1) under a coarse cell's centre."""
    # int(): under tracing the shapes are tensors; the served input size is fixed, so the shifts are constants.
    fine = int(size) / (int(cells) * steps)
    return [int(round((steps // 2 - m) * fine)) for m in range(steps)]


def moves_for(batch: torch.Tensor, activation: torch.Tensor) -> list[tuple[int, int]]:
    """The ``STEPS`` x ``STEPS`` shifts ``(dy, dx)`` of ``batch``, row by row, for its ``layer4`` ``activation``."""
    ys, xs = offsets(batch.shape[-2], activation.shape[-2]), offsets(batch.shape[-1], activation.shape[-1])
    return [(dy, dx) for dy in ys for dx in xs]


def shifted(batch: torch.Tensor, moves: list[tuple[int, int]]) -> torch.Tensor:
    """``batch`` (B, 3, S, S) with its content moved by each ``(dy, dx)`` over black: (len(moves) * B, 3, S, S)."""
    size = batch.shape[-1]
    pad = max(max(abs(dy), abs(dx)) for dy, dx in moves)
    black = batch.amin(dim=(2, 3), keepdim=True)
    padded = F.pad(batch - black, (pad, pad, pad, pad)) + black
    return torch.cat([padded[:, :, pad - dy:pad - dy + size, pad - dx:pad - dx + size] for dy, dx in moves])


@register
class ShiftAndStitch(GradCAM):
    name = "shift-and-stitch"

    def maps(self, layer4: Callable[[torch.Tensor], torch.Tensor], batch: torch.Tensor, activation: torch.Tensor,
             fc: torch.nn.Linear) -> torch.Tensor:
        b, n = batch.shape[0], STEPS
        h, w = activation.shape[-2:]
        moves = moves_for(batch, activation)
        centre = (n // 2) * n + n // 2  # no move: the activation the forward pass already has
        others = [move for i, move in enumerate(moves) if i != centre]
        activations = layer4(shifted(batch, others)).reshape(len(others), b, *activation.shape[1:])
        stacked = torch.cat([activations[:centre], activation[None], activations[centre:]])
        coarse = self(stacked.flatten(0, 1), fc)  # (n*n*B, C, h, w)
        c = coarse.shape[1]
        # (my, mx, B, C, h, w) -> (B, C, h, my, w, mx): fine row 3j+my is coarse row j of vertical shift my.
        fine = coarse.reshape(n, n, b, c, h, w).permute(2, 3, 4, 0, 5, 1)
        return fine.reshape(b, c, h * n, w * n)


@register
class ShiftAndAverage(GradCAM):
    """The same shifted maps, each drawn on the fine grid as the overlay draws a map (bilinear), moved back by its
    shift and averaged where known: a smoother map than the interleaved one (test-time translation averaging)."""

    name = "shift-and-average"

    def maps(self, layer4: Callable[[torch.Tensor], torch.Tensor], batch: torch.Tensor, activation: torch.Tensor,
             fc: torch.nn.Linear) -> torch.Tensor:
        coarse = self.shifted_maps(layer4, batch, moves_for(batch, activation), fc)
        return averaged(coarse, batch.shape[0], activation.shape[-2], activation.shape[-1])

    def shifted_maps(self, layer4: Callable[[torch.Tensor], torch.Tensor], batch: torch.Tensor,
                     moves: list[tuple[int, int]], fc: torch.nn.Linear) -> torch.Tensor:
        """The coarse maps of ``batch`` moved by each of ``moves``, move by move: (len(moves) * B, C, h, w)."""
        return self(layer4(shifted(batch, moves)), fc)


def averaged(coarse: torch.Tensor, b: int, h: int, w: int) -> torch.Tensor:
    """The ``STEPS ** 2`` shifted coarse maps of ``b`` inputs drawn on the fine grid (bilinear), each moved back by
    its shift, averaged where known: (B, C, h * STEPS, w * STEPS)."""
    n = STEPS
    fine = F.interpolate(coarse, size=(h * n, w * n), mode="bilinear", align_corners=False)
    c = fine.shape[1]
    fine = fine.reshape(n, n, b, c, h * n, w * n)
    p = n // 2
    padded = F.pad(fine.flatten(0, 3), (p, p, p, p)).reshape(n, n, b, c, h * n + 2 * p, w * n + 2 * p)
    known = F.pad(torch.ones_like(fine[0, 0, :1, :1]), (p, p, p, p))
    total, count = torch.zeros_like(fine[0, 0]), torch.zeros_like(fine[0, 0, :1, :1])
    for my in range(n):
        for mx in range(n):
            # Shift m moved the content (n//2 - m) fine cells: read each location where that shift put it.
            top, left = 2 * p - my, 2 * p - mx
            total = total + padded[my, mx, :, :, top:top + h * n, left:left + w * n]
            count = count + known[..., top:top + h * n, left:left + w * n]
    return total / count
