"""What an explanation costs, against a plain forward pass and the usual ways of computing Grad-CAM.

    python -m benchmarks.bench_explain --repeat 30
    python -m benchmarks.bench_explain --engines --repeat 60   # the engines, at the checkpoint's input size

All methods run in this one process on the same weights and the same 224x224
input. Within each repeat every method runs once, in a shuffled order, so a
burst of load from another process hits all of them alike instead of one; the
ratio to the plain forward is the median of the per-repeat ratios (each method
against the forward of the same repeat), which cancels slow drifts in load.
"""

import argparse
import copy
import os
import statistics
import time

import numpy as np
import torch

from benchmarks import engine_bench
from benchmarks.engine_bench import timed
from mri.explain import explanations
from mri.inference.checkpoint import load_checkpoint
from mri.inference.engine import Engine, get_engine
from training.registry import default_model

TARGETS = {"engine, all four maps": 1.05, "engine end to end with overlay PNG": 1.20}


def bench_slice(size):
    """A brain-like gray slice of ``size`` x ``size`` (the training slices are not needed to time things)."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size]
    head = ((yy - size / 2) / (size * 0.42)) ** 2 + ((xx - size / 2) / (size * 0.36)) ** 2 < 1
    gray = np.where(head, 150 + rng.normal(0, 12, (size, size)), 0)
    return np.uint8(np.clip(gray, 0, 255))


def textbook_grad_cam(model, x, class_index):
    """Grad-CAM as the seed design did it: hooks on layer4 and a full backward() through the network."""
    store = {}

    def keep(module, inputs, output):
        store["activation"] = output
        output.register_hook(lambda grad: store.__setitem__("gradient", grad))

    handle = model.layer4.register_forward_hook(keep)
    try:
        model.zero_grad(set_to_none=True)
        logits = model(x)
        logits[0, class_index].backward()
    finally:
        handle.remove()
    weights = store["gradient"].mean(dim=(2, 3), keepdim=True)
    return torch.relu((weights * store["activation"]).sum(dim=1)).detach()


class Lines:
    """``write(line)`` prints one line: what the benchmark says, on standard output."""

    def write(self, line):
        print(line)


class Bench:
    stdout = Lines()

    @staticmethod
    def add_arguments(parser):
        parser.add_argument("--repeat", type=int, default=20, help="Timed runs of each method (median reported).")
        parser.add_argument("--warmup", type=int, default=3)
        parser.add_argument("--size", type=int, default=224, help="Input side in pixels.")
        parser.add_argument("--engines", action="store_true",
                            help="time every inference engine (eager, TorchScript, bf16, ONNX Runtime, ...) instead, "
                                 "at the checkpoint's own input size (the exported ONNX model has it fixed)")
        parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's own choice).")
        parser.add_argument(
            "--clock", choices=["wall", "cpu"], default="wall",
            help="wall: elapsed time (what a user waits). cpu: this process's CPU time, which other "
                 "processes disturb far less on a busy machine; use it with --threads 1.",
        )

    def handle(self, *args, repeat, warmup, size, threads, clock, engines, **options):
        if threads:
            torch.set_num_threads(threads)
        now = time.process_time if clock == "cpu" else time.perf_counter
        if engines:
            return self.engines(warmup, repeat, now, clock)
        shared = get_engine(default_model())
        # The same weights at the benchmark's input size, whatever size the checkpoint was trained at.
        engine = Engine(shared.model, {**shared.checkpoint, "input_size": size})
        methods, release = benchmarked_methods(engine, bench_slice(size))
        try:
            times = timed(methods, warmup, repeat, now)
        finally:
            release()
        self.stdout.write(conditions(size, repeat, clock, shared.sha256))
        self.stdout.write("")
        self.report(times, clock)

    def engines(self, warmup, repeat, now, clock):
        """One slice through each engine, interleaved in shuffled order within every repeat."""
        path = default_model()
        model, checkpoint = load_checkpoint(path)
        built, unavailable = engine_bench.engines_for(model, checkpoint, path)
        size = int(checkpoint["input_size"])
        x = built["eager"].prepare(bench_slice(size))[0][None]
        figures = engine_bench.timings(built, x, warmup, repeat, now)
        self.stdout.write(conditions(size, repeat, clock, get_engine(path).sha256))
        self.stdout.write("")
        self.stdout.write(f"| engine | median {clock} ms | × eager float32, paired |")
        self.stdout.write("| --- | ---: | ---: |")
        for name, (median, ratio) in figures.items():
            self.stdout.write(f"| {name} | {median:.1f} | {ratio:.2f}× |")
        for name, why in unavailable.items():
            self.stdout.write(f"| {name} | not run: {why} | |")

    def report(self, times, clock):
        medians = {name: statistics.median(values) for name, values in times.items()}
        ratios = {name: statistics.median(t / f for t, f in zip(values, times[BASELINE]))
                  for name, values in times.items()}
        self.stdout.write(f"| method | median {clock} ms | ÷ forward's median | × forward, paired |")
        self.stdout.write("| --- | ---: | ---: | ---: |")
        base = medians[BASELINE]
        for name, value in medians.items():
            self.stdout.write(f"| {name} | {value:.1f} | {value / base:.2f}× | {ratios[name]:.2f}× |")
        self.stdout.write("")
        self.stdout.write("(paired: the median over repeats of each run's time over the same repeat's forward)")
        for name, limit in TARGETS.items():
            ratio = ratios[name]
            verdict = "met" if ratio <= limit else "NOT met"
            self.stdout.write(f"target {name} ≤ {limit:.2f}×: {ratio:.2f}× ({verdict})")


BASELINE = "plain forward (inference_mode)"


def conditions(size, repeat, clock, sha256):
    """One line saying what was measured and under what load (timings on a shared machine are only that)."""
    load = os.getloadavg()
    return (f"{size}x{size} input, {repeat} runs each (median, {clock} clock), torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
            f"load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}, model {sha256[:12]}")


def benchmarked_methods(engine, gray):
    """``({name: callable}, release)``: every method timed, on the same weights and input."""
    # Test requirements, imported only when the benchmark runs.
    from captum.attr import LayerGradCam
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    # In the engine's memory layout, so the plain forward is timed at its fastest too.
    x = engine.prepare(gray)[0][None].contiguous(memory_format=torch.channels_last)
    analysis = engine.analyse(gray)
    target = analysis.predicted_index
    model = engine.model
    # The reference methods need gradients, which the shared model never has: a copy of the same weights.
    graded = copy.deepcopy(model).eval()
    for p in graded.parameters():
        p.requires_grad_(True)
    gradcam = GradCAM(model=graded, target_layers=[graded.layer4])
    captum = LayerGradCam(graded, graded.layer4)

    def forward():
        with torch.inference_mode():
            model(x)

    def end_to_end():
        result = engine.analyse(gray)
        explanations.overlay_png(gray, explanations.from_analysis(result))

    methods = {
        BASELINE: forward,
        "engine, all four maps": lambda: engine.run(x),
        "engine end to end with overlay PNG": end_to_end,
        "faithfulness score (4 forwards, 1 batch)": lambda: engine.faithfulness(analysis),
        "pytorch-grad-cam GradCAM (one class)": lambda: gradcam(input_tensor=x,
                                                                 targets=[ClassifierOutputTarget(target)]),
        "Captum LayerGradCam (one class)": lambda: captum.attribute(x, target=target),
        "textbook hooks + full backward() (one class)": lambda: textbook_grad_cam(graded, x, target),
    }
    return methods, gradcam.activations_and_grads.release


def main(argv=None):
    parser = argparse.ArgumentParser(description="Time the Grad-CAM engine against a plain forward pass, "
                                                 "pytorch-grad-cam, Captum and a textbook Grad-CAM.")
    Bench.add_arguments(parser)
    Bench().handle(**vars(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
