"""The ResNet50 as training runs it: stochastic depth and dropout in the forward pass, and a weight average.

Both leave the saved network a plain torchvision ``resnet50``: the forward is
applied functionally to its own modules, and the average is copied into one.
"""

import torch
import torch.nn.functional as F


def _drop_path(x, p, training):
    if not training or p <= 0:
        return x
    keep = torch.empty((x.shape[0], 1, 1, 1), dtype=x.dtype, device=x.device).bernoulli_(1 - p)
    return x * keep / (1 - p)


def _bottleneck(block, x, p, training):
    identity = x if block.downsample is None else block.downsample(x)
    out = block.relu(block.bn1(block.conv1(x)))
    out = block.relu(block.bn2(block.conv2(out)))
    out = block.bn3(block.conv3(out))
    if block.downsample is None:  # never drop the blocks that change shape
        out = _drop_path(out, p, training)
    return block.relu(out + identity)


def train_forward(model, x, dropout=0.0, drop_path=0.0):
    """torchvision resnet50's forward with stochastic depth and dropout before fc.

    The parameters are the plain model's; at evaluation (``model.training`` is
    False) this is exactly ``model(x)``.
    """
    training = model.training
    x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    blocks = [b for layer in (model.layer1, model.layer2, model.layer3, model.layer4) for b in layer]
    for i, block in enumerate(blocks):
        x = _bottleneck(block, x, drop_path * i / max(len(blocks) - 1, 1), training)
    x = torch.flatten(model.avgpool(x), 1)
    x = F.dropout(x, dropout, training)
    return model.fc(x)


class EMA:
    """Exponential moving average of parameters and BatchNorm buffers."""

    def __init__(self, model, decay):
        self.decay = decay
        self.shadow = {k: v.detach().clone().float() for k, v in model.state_dict().items()}
        self.updates = 0

    @torch.no_grad()
    def update(self, model):
        self.updates += 1
        # Warm-up: a short average while there are few updates.
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        shadows, values = [], []
        for k, v in model.state_dict().items():
            if v.is_floating_point():
                shadows.append(self.shadow[k])
                values.append(v.detach().float())
            else:
                self.shadow[k].copy_(v)
        torch._foreach_lerp_(shadows, values, 1 - d)

    def state_dict(self):
        return self.shadow

    def load_state_dict(self, state):
        self.shadow = {k: v.clone() for k, v in state.items()}

    def copy_to(self, model):
        model.load_state_dict({k: v.to(model.state_dict()[k].dtype) for k, v in self.shadow.items()})
