"""The bad-input corpus: files that are not a brain MRI slice, every one made by code (nothing downloaded).

    .venv/bin/python tools/make_bad_inputs.py OUT_DIR      # write one file of every kind

Each kind is a function ``make(rng) -> (bytes, file name)``. ``image_like``
kinds are gray pictures of a plausible size that are not axial brain MRI
slices: the layout checks of ``assessments.scans.quality`` or the model-based
detector (``assessments.ml.ood``) must refuse them (code ``not_brain``), and
``manage.py fit_ood`` measures how many each of the two refuses. ``codes``
lists the refusals a kind may get. ``variants`` gives several random versions of an image-like kind for
measuring the detector's refusal rate.

MRI-derived kinds (inverted, rotated, cropped, sagittal...) are made from
nilearn's MNI152 template (see ``tools/scan_files.py``), or from any brain
slice passed as ``brain``.
"""

import io
import struct
import sys
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools import scan_files  # noqa: E402


@dataclass(frozen=True)
class Kind:
    name: str
    make: object
    codes: tuple
    image_like: bool = False


def png(pixels, mode=None):
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode).save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg(pixels, quality=90):
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def textured(pixels, rng, amount=6.0, blur=1.0):
    """A camera's grain and softness, so drawings look photographed."""
    image = Image.fromarray(np.uint8(np.clip(pixels, 0, 255))).filter(ImageFilter.GaussianBlur(blur))
    noisy = np.asarray(image, dtype=np.float32) + rng.normal(0, amount, (image.height, image.width))
    return np.uint8(np.clip(noisy, 0, 255))


def font(size):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


# ---------------------------------------------------------------------------- pictures made by code


def landscape(rng, size=(320, 240)):
    width, height = size
    sky = np.linspace(220, 140, height)[:, None] * np.ones((1, width))
    image = Image.fromarray(np.uint8(sky))
    draw = ImageDraw.Draw(image)
    sun = rng.integers(30, width - 30), rng.integers(20, height // 3)
    draw.ellipse([sun[0] - 18, sun[1] - 18, sun[0] + 18, sun[1] + 18], fill=250)
    for layer, shade in enumerate((110, 80, 50)):
        phase, base = rng.uniform(0, 6.3), height * (0.45 + 0.15 * layer)
        xs = np.arange(0, width + 8, 8)
        ys = base + 18 * np.sin(xs / rng.uniform(25, 60) + phase)
        draw.polygon([(0, height)] + list(zip(xs.tolist(), ys.tolist())) + [(width, height)], fill=shade)
    for _ in range(rng.integers(3, 7)):
        x = int(rng.integers(10, width - 10))
        base = int(rng.integers(height * 2 // 3, height - 5))
        draw.rectangle([x - 2, base - 30, x + 2, base], fill=30)
        draw.ellipse([x - 14, base - 60, x + 14, base - 22], fill=int(rng.integers(20, 70)))
    return textured(np.asarray(image), rng)


def portrait(rng, size=(240, 300)):
    width, height = size
    image = Image.new("L", size, int(rng.integers(150, 210)))
    draw = ImageDraw.Draw(image)
    cx, cy = width // 2, height // 2 - 10
    draw.rectangle([cx - 90, cy + 90, cx + 90, height], fill=int(rng.integers(40, 90)))  # shoulders
    draw.ellipse([cx - 70, cy - 100, cx + 70, cy + 40], fill=int(rng.integers(20, 60)))  # hair
    draw.ellipse([cx - 60, cy - 80, cx + 60, cy + 90], fill=int(rng.integers(160, 200)))  # face
    for dx in (-25, 25):
        draw.ellipse([cx + dx - 10, cy - 20, cx + dx + 10, cy - 8], fill=250)
        draw.ellipse([cx + dx - 4, cy - 18, cx + dx + 4, cy - 10], fill=20)
    draw.line([cx, cy - 5, cx - 6, cy + 25, cx + 4, cy + 27], fill=120, width=2)
    draw.arc([cx - 25, cy + 30, cx + 25, cy + 60], 20, 160, fill=60, width=3)
    return textured(np.asarray(image), rng, blur=1.5)


def room(rng, size=(320, 240)):
    width, height = size
    wall = np.linspace(170, 120, width)[None, :] * np.ones((height, 1))
    image = Image.fromarray(np.uint8(wall))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, height * 3 // 4, width, height], fill=90)  # floor
    wx = int(rng.integers(20, 140))
    draw.rectangle([wx, 30, wx + 90, 120], fill=235, outline=60, width=4)  # window
    draw.line([wx + 45, 30, wx + 45, 120], fill=60, width=3)
    dx = int(rng.integers(180, 260))
    draw.rectangle([dx, 60, dx + 50, height * 3 // 4], fill=70)  # door
    draw.rectangle([60, 150, 200, 160], fill=40)  # table
    draw.rectangle([70, 160, 76, 200], fill=40)
    draw.rectangle([184, 160, 190, 200], fill=40)
    return textured(np.asarray(image), rng)


def house_drawing(rng, size=(300, 260)):
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    x, y = int(rng.integers(40, 90)), int(rng.integers(100, 130))
    draw.rectangle([x, y, x + 150, y + 110], outline=0, width=3)
    draw.polygon([(x - 10, y), (x + 75, y - 70), (x + 160, y)], outline=0)
    draw.rectangle([x + 60, y + 50, x + 90, y + 110], outline=0, width=3)
    draw.rectangle([x + 15, y + 20, x + 45, y + 45], outline=0, width=2)
    draw.ellipse([230, 20, 280, 70], outline=0, width=2)
    return np.asarray(image)


def shapes(rng, size=(256, 256)):
    image = Image.new("L", size, int(rng.integers(60, 200)))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x0, y0 = rng.integers(0, 220, 2)
        w, h = rng.integers(15, 90, 2)
        box = [int(x0), int(y0), int(x0 + w), int(y0 + h)]
        fill = int(rng.integers(0, 256))
        [draw.rectangle, draw.ellipse][int(rng.integers(0, 2))](box, fill=fill)
    return np.asarray(image)


WORDS = ("patient appointment letter results dear doctor please find attached the scan report kind regards "
         "clinic monday tuesday insurance number reference invoice total amount paid").split()


def text_screenshot(rng, size=(400, 300), dark=False):
    background, ink = (20, 230) if dark else (255, 10)
    image = Image.new("L", size, background)
    draw = ImageDraw.Draw(image)
    face = font(14)
    for line in range(14):
        words = " ".join(rng.choice(WORDS, int(rng.integers(4, 9))))
        draw.text((12, 10 + line * 20), words.capitalize(), fill=ink, font=face)
    return np.asarray(image)


def spreadsheet(rng, size=(360, 260)):
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    for x in range(0, size[0], 60):
        draw.line([x, 0, x, size[1]], fill=170)
    for y in range(0, size[1], 20):
        draw.line([0, y, size[0], y], fill=170)
    face = font(12)
    for row in range(1, size[1] // 20):
        for col in range(size[0] // 60):
            draw.text((col * 60 + 4, row * 20 + 3), f"{rng.integers(0, 9999)}", fill=0, font=face)
    return np.asarray(image)


def chessboard(rng, size=(256, 256)):
    square = int(rng.integers(16, 40))
    ys, xs = np.mgrid[: size[1], : size[0]]
    return np.uint8(((ys // square + xs // square) % 2) * 200 + 30)


def stripes(rng, size=(256, 256)):
    xs = np.arange(size[0])
    row = 127 + 120 * np.sign(np.sin(xs / rng.uniform(3, 9)))
    return np.uint8(np.repeat(row[None, :], size[1], axis=0))


def gradient(rng, size=(256, 256)):
    angle = rng.uniform(0, np.pi)
    ys, xs = np.mgrid[: size[1], : size[0]]
    ramp = xs * np.cos(angle) + ys * np.sin(angle)
    return np.uint8(255 * (ramp - ramp.min()) / (ramp.max() - ramp.min()))


def disc(rng, size=(208, 176)):
    image = Image.new("L", (size[1], size[0]), 0)
    ImageDraw.Draw(image).ellipse([25, 20, size[1] - 25, size[0] - 20], fill=int(rng.integers(120, 240)))
    return np.asarray(image)


def smooth_noise(rng, size=(256, 256)):
    import cv2

    noise = rng.normal(0, 1, (size[1], size[0])).astype(np.float32)
    blurred = cv2.GaussianBlur(noise, (0, 0), float(rng.uniform(2, 6)))
    blurred = (blurred - blurred.min()) / (blurred.max() - blurred.min())
    return np.uint8(blurred * 255)


def ct_pixels():
    import pydicom
    from pydicom.data import get_testdata_file

    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    hu = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    # A brain window, as a CT viewer would show it.
    return np.uint8(np.clip((hu - 0) / 80 * 255, 0, 255))


def ct_bone_window():
    import pydicom
    from pydicom.data import get_testdata_file

    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    hu = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    return np.uint8(np.clip((hu + 1000) / 2000 * 255, 0, 255))


# ---------------------------------------------------------------------------- brains gone wrong


def brain_slice(rng, brain=None):
    if brain is not None:
        return brain(rng)
    return scan_files.mni_axial(int(rng.integers(-6, 14)))


def inverted(rng, brain=None):
    return 255 - brain_slice(rng, brain)


def rotated(rng, brain=None):
    return np.ascontiguousarray(np.rot90(brain_slice(rng, brain), k=1 if rng.random() < 0.5 else 3))


def cropped(rng, brain=None):
    """A heavily cropped slice: a ~40% window of it, no brain outline left."""
    gray = brain_slice(rng, brain)
    h, w = gray.shape
    ch, cw = max(64, int(h * 0.4)), max(64, int(w * 0.4))
    top = int(rng.integers(h // 4, max(h // 4 + 1, h - ch - h // 4)))
    left = int(rng.integers(w // 4, max(w // 4 + 1, w - cw - w // 4)))
    return np.ascontiguousarray(gray[top:top + ch, left:left + cw])


def sagittal(rng, brain=None):
    return scan_files.mni_sagittal(int(rng.integers(-20, 20)))


def coronal(rng, brain=None):
    return scan_files.mni_coronal(int(rng.integers(-20, 20)))


def tiled(rng, brain=None):
    """Four slices on one sheet, as a printed film or a viewer's grid shows them."""
    gray = brain_slice(rng, brain)
    return np.ascontiguousarray(np.block([[gray, gray[:, ::-1]], [gray[::-1], gray[::-1, ::-1]]]))


# ---------------------------------------------------------------------------- file-level problems


def png_header_only(width, height):
    """A valid PNG signature and header claiming ``width`` x ``height``, with a token of data."""
    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 1024))
            + chunk(b"IEND", b""))


def zip_of_documents(rng):
    """A ZIP of the letters that came with a scan, without the scan: no DICOM series in it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("letter.txt", "Dear patient, your results are enclosed.\n")
        archive.writestr("report.pdf", pdf_document(rng))
    return buffer.getvalue()


def zip_with_traversal(rng):
    """A ZIP whose member name climbs out of the folder it would be unpacked into (a 'zip slip')."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../../scan.png", png(scan_files.mni_axial()))
        archive.writestr("scan2.png", png(scan_files.mni_axial(4)))
    return buffer.getvalue()


def pdf_document(rng):
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")


def gif_of_scan(rng):
    buffer = io.BytesIO()
    Image.fromarray(scan_files.mni_axial()).save(buffer, format="GIF")
    return buffer.getvalue()


def colour_photo(rng):
    gray = landscape(rng)
    rgb = np.stack([gray * 0.6, gray * 0.9, np.clip(gray * 1.3, 0, 255)], axis=-1)
    return png(np.uint8(np.clip(rgb, 0, 255)))


def colour_heatmap(rng):
    import cv2

    gray = scan_files.mni_axial()
    heat = cv2.applyColorMap(cv2.GaussianBlur(gray, (0, 0), 8), cv2.COLORMAP_JET)[..., ::-1]
    return png(np.uint8(0.6 * np.stack([gray] * 3, axis=-1) + 0.4 * heat))


def truncated(data, keep=0.5):
    return data[: int(len(data) * keep)]


def pydicom_file(name):
    from pydicom.data import get_testdata_file

    return Path(get_testdata_file(name)).read_bytes()


def dicom_without_pixels(rng):
    import pydicom

    ds = pydicom.dcmread(io.BytesIO(scan_files.dicom_bytes(scan_files.mni_axial())))
    del ds.PixelData
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def nifti_pair_header(rng):
    import nibabel as nib

    header = nib.Nifti1Header()
    header.set_data_shape((10, 10, 10))
    raw = bytearray(header.binaryblock)
    raw[344:348] = b"ni1\x00"
    return bytes(raw)


def kinds():
    """Every kind of bad input, in a stable order."""
    rng_free = [
        Kind("empty", lambda rng: (b"", "scan.png"), ("empty",)),
        Kind("text_renamed_png", lambda rng: (b"Dear doctor, this is not a scan.\n" * 20, "scan.png"), ("unreadable",)),
        Kind("html_page", lambda rng: (b"<!DOCTYPE html><html><body>login</body></html>", "scan.jpg"), ("unreadable",)),
        Kind("random_bytes", lambda rng: (rng.integers(0, 256, 5000, dtype=np.uint8).tobytes(), "scan.dcm"),
             ("unreadable",)),
        Kind("zip_of_documents", lambda rng: (zip_of_documents(rng), "scans.zip"), ("no_series",)),
        Kind("zip_traversal", lambda rng: (zip_with_traversal(rng), "scans.zip"), ("unsafe_archive",)),
        Kind("pdf_document", lambda rng: (pdf_document(rng), "report.pdf"), ("unsupported",)),
        Kind("gif_image", lambda rng: (gif_of_scan(rng), "scan.gif"), ("unsupported",)),
        Kind("gzip_of_text", lambda rng: (zlib_gzip(b"hello " * 100), "scan.nii.gz"), ("unsupported",)),
        Kind("nifti_header_without_image", lambda rng: (nifti_pair_header(rng), "scan.hdr"), ("unsupported",)),
        Kind("truncated_png", lambda rng: (truncated(png(scan_files.mni_axial())), "scan.png"), ("unreadable",)),
        Kind("truncated_jpeg", lambda rng: (truncated(jpeg(scan_files.mni_axial())), "scan.jpg"), ("unreadable",)),
        Kind("truncated_dicom", lambda rng: (pydicom_file("MR_truncated.dcm"), "scan.dcm"), ("unreadable",)),
        Kind("truncated_nifti", lambda rng: (truncated(scan_files.mni_nifti_bytes(2), 0.3), "brain.nii"),
             ("unreadable",)),
        Kind("dicom_without_pixels", lambda rng: (dicom_without_pixels(rng), "scan.dcm"), ("no_image",)),
        Kind("ct_dicom", lambda rng: (pydicom_file("CT_small.dcm"), "CT_small.dcm"), ("not_mri",)),
        Kind("over_20_mb", lambda rng: (png(scan_files.mni_axial()) + b"\0" * (21 * 1024 * 1024), "scan.png"),
             ("too_large",)),
        Kind("pixel_bomb_49_megapixels", lambda rng: (png_header_only(7000, 7000), "scan.png"), ("too_many_pixels",)),
        Kind("pixel_bomb_400_megapixels", lambda rng: (png_header_only(20000, 20000), "scan.png"),
             ("too_many_pixels",)),
        Kind("tiny_thumbnail", lambda rng: (png(np.asarray(Image.fromarray(scan_files.mni_axial()).resize((40, 48)))),
                                            "scan.png"), ("too_small",)),
        Kind("long_strip", lambda rng: (png(np.tile(scan_files.mni_axial(), (1, 4))), "scan.png"), ("bad_aspect",)),
        Kind("colour_photo", lambda rng: (colour_photo(rng), "photo.png"), ("colour",)),
        Kind("colour_heatmap_overlay", lambda rng: (colour_heatmap(rng), "overlay.png"), ("colour",)),
        Kind("blank_black", lambda rng: (png(np.zeros((208, 176), np.uint8)), "scan.png"), ("blank",)),
        Kind("blank_white", lambda rng: (jpeg(np.full((208, 176), 255, np.uint8)), "scan.jpg"), ("blank",)),
        Kind("blank_gray_with_dust", lambda rng: (png(dusty_gray(rng)), "scan.png"), ("blank",)),
        Kind("noise_uniform", lambda rng: (png(rng.integers(0, 256, (208, 176), dtype=np.uint8)), "scan.png"),
             ("noise",)),
        Kind("noise_salt_and_pepper", lambda rng: (png(np.uint8(rng.random((256, 256)) > 0.5) * 255), "scan.png"),
             ("noise",)),
        Kind("noise_volume_nifti", lambda rng: (scan_files.nifti_bytes(rng.random((80, 96, 80), dtype=np.float32),
                                                                       compressed=True), "noise.nii.gz"), ("noise",)),
        Kind("blank_volume_nifti", lambda rng: (scan_files.nifti_bytes(np.zeros((80, 96, 80), np.float32)),
                                                "blank.nii"), ("blank",)),
    ]
    pictures = [
        Kind("photo_landscape", lambda rng: (jpeg(landscape(rng)), "holiday.jpg"), NOT_BRAIN, True),
        Kind("photo_portrait", lambda rng: (jpeg(portrait(rng)), "me.jpg"), NOT_BRAIN, True),
        Kind("photo_room", lambda rng: (jpeg(room(rng)), "room.jpg"), NOT_BRAIN, True),
        Kind("drawing_house", lambda rng: (png(house_drawing(rng)), "drawing.png"), NOT_BRAIN, True),
        Kind("drawing_shapes", lambda rng: (png(shapes(rng)), "shapes.png"), NOT_BRAIN, True),
        Kind("text_screenshot", lambda rng: (png(text_screenshot(rng)), "letter.png"), NOT_BRAIN, True),
        Kind("text_screenshot_dark", lambda rng: (png(text_screenshot(rng, dark=True)), "letter.png"), NOT_BRAIN,
             True),
        Kind("spreadsheet_screenshot", lambda rng: (png(spreadsheet(rng)), "table.png"), NOT_BRAIN, True),
        Kind("chessboard", lambda rng: (png(chessboard(rng)), "board.png"), NOT_BRAIN, True),
        Kind("stripes", lambda rng: (png(stripes(rng)), "stripes.bmp"), NOT_BRAIN, True),
        Kind("gradient", lambda rng: (png(gradient(rng)), "gradient.png"), NOT_BRAIN, True),
        Kind("plain_disc", lambda rng: (png(disc(rng)), "disc.png"), NOT_BRAIN, True),
        Kind("smooth_noise", lambda rng: (png(smooth_noise(rng)), "clouds.png"), NOT_BRAIN, True),
        Kind("ct_slice_as_png", lambda rng: (png(ct_pixels()), "ct.png"), NOT_BRAIN, True),
        Kind("ct_bone_window_as_png", lambda rng: (png(ct_bone_window()), "ct.png"), NOT_BRAIN, True),
        Kind("photo_as_mr_dicom", lambda rng: (scan_files.dicom_bytes(landscape(rng)), "scan.dcm"), NOT_BRAIN, True),
        Kind("mri_inverted", lambda rng: (png(inverted(rng)), "scan.png"), NOT_BRAIN, True),
        Kind("mri_rotated_90", lambda rng: (png(rotated(rng)), "scan.png"), NOT_BRAIN, True),
        Kind("mri_heavily_cropped", lambda rng: (png(cropped(rng)), "scan.png"), NOT_BRAIN, True),
        Kind("mri_sagittal", lambda rng: (png(sagittal(rng)), "scan.png"), NOT_BRAIN, True),
        Kind("mri_coronal", lambda rng: (png(coronal(rng)), "scan.png"), NOT_BRAIN, True),
        Kind("mri_four_on_one_sheet", lambda rng: (png(tiled(rng)), "film.png"), NOT_BRAIN, True),
    ]
    return rng_free + pictures


# Kinds that neither the layout checks nor the detector can tell from real axial brains: a coronal slice
# through the middle of the brain has an outline as convex as a skull-stripped axial slice's, and the shipped
# model's features put it among real axial brains from other pipelines. Refusing them would refuse real
# brains, so they are analysed and marked "outside what the model was trained on" (README, "Accepted formats").
MARKED_NOT_REFUSED = {"mri_coronal"}


NOT_BRAIN = ("not_brain",)


def dusty_gray(rng):
    gray = np.full((208, 176), 128, np.uint8)
    ys, xs = rng.integers(0, 208, 40), rng.integers(0, 176, 40)
    gray[ys, xs] = 0
    return gray


def zlib_gzip(data):
    import gzip

    return gzip.compress(data)


def corpus(seed=0):
    """``[(kind, bytes, file name)]``, one of every kind."""
    rng = np.random.default_rng(seed)
    items = []
    for kind in kinds():
        data, name = kind.make(rng)
        items.append((kind, data, name))
    return items


# Pixels of the image-like kinds, for measuring the detector on many versions of each.
PIXEL_MAKERS = {
    "photo_landscape": landscape,
    "photo_portrait": portrait,
    "photo_room": room,
    "drawing_house": house_drawing,
    "drawing_shapes": shapes,
    "text_screenshot": text_screenshot,
    "text_screenshot_dark": lambda rng: text_screenshot(rng, dark=True),
    "spreadsheet_screenshot": spreadsheet,
    "chessboard": chessboard,
    "stripes": stripes,
    "gradient": gradient,
    "plain_disc": disc,
    "smooth_noise": smooth_noise,
    "ct_slice_as_png": lambda rng: ct_pixels(),
    "ct_bone_window_as_png": lambda rng: ct_bone_window(),
    "photo_as_mr_dicom": landscape,
    "mri_inverted": inverted,
    "mri_rotated_90": rotated,
    "mri_heavily_cropped": cropped,
    "mri_sagittal": sagittal,
    "mri_coronal": coronal,
    "mri_four_on_one_sheet": tiled,
}
BRAIN_DERIVED = {"mri_inverted", "mri_rotated_90", "mri_heavily_cropped", "mri_four_on_one_sheet"}
FIXED = {"ct_slice_as_png", "ct_bone_window_as_png"}


def variants(name, count, seed=0, brain=None):
    """``count`` gray pictures of an image-like kind (one for the kinds that are a fixed file)."""
    rng = np.random.default_rng(seed)
    make = PIXEL_MAKERS[name]
    total = 1 if name in FIXED else count
    if name in BRAIN_DERIVED:
        return [make(rng, brain) for _ in range(total)]
    return [make(rng) for _ in range(total)]


def main(argv):
    if len(argv) != 2:
        print(__doc__)
        return 2
    out = Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for kind, data, name in corpus():
        path = out / f"{kind.name}{''.join(Path(name).suffixes) or '.bin'}"
        path.write_bytes(data)
    print(f"wrote {len(kinds())} files to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
