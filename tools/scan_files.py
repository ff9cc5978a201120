"""Real brain scans for tests and the bad-input corpus, made from nilearn's MNI152 template.

Nothing is downloaded: the template ships inside nilearn (a test requirement).
``dicom_bytes`` writes any 2-D array as a DICOM file with pydicom, personal
fields filled in, uncompressed or with one of pydicom's encoders;
``nifti_bytes`` writes a volume as .nii or .nii.gz.
"""

import functools
import gzip
import io

import numpy as np

PATIENT = {
    "PatientName": "Testperson^Hermione^Q",
    "PatientID": "PID-7741-SECRET",
    "PatientBirthDate": "19480517",
    "PatientSex": "F",
    "PatientAddress": "12 Privet Drive, Little Whinging",
    "InstitutionName": "St Mungo Imaging Centre",
    "ReferringPhysicianName": "Referrer^Rita",
    "AccessionNumber": "ACC99887766",
    "OtherPatientIDs": "OTHER-ID-5566",
}


@functools.lru_cache(maxsize=2)
def mni_volume(resolution=1):
    """The MNI152 T1 template as a canonical (RAS) nibabel image."""
    import nibabel as nib
    from nilearn.datasets import load_mni152_template

    return nib.as_closest_canonical(load_mni152_template(resolution=resolution))


# The template is the average of 152 brains: its grey/white contrast is much
# flatter than any one scan's, and its slices' brain pixels crowd at the top of
# the range. Measured with a partly trained model: its pooled features of raw
# template slices were ~700x the norm of real slices' (refused, rightly, as unlike
# anything it was trained on); with gamma 2.5 they fall among the training slices'.
T1_GAMMA = 2.5


def t1_contrast(data):
    data = np.clip(np.asarray(data, dtype=np.float32), 0, None)
    top = float(data.max()) or 1.0
    return (data / top) ** T1_GAMMA * top


@functools.lru_cache(maxsize=2)
def mni_array(resolution=1):
    """The template's voxels with a single T1 scan's contrast (see T1_GAMMA); read-only, computed once."""
    data = t1_contrast(mni_volume(resolution).dataobj)
    data.flags.writeable = False
    return data


def as_uint8(plane):
    plane = np.asarray(plane, dtype=np.float32)
    top = float(np.percentile(plane, 99.5)) or 1.0
    return np.uint8(np.clip(plane / top * 255.0, 0, 255))


def mni_axial(offset=0, resolution=1):
    """An axial slice ``offset`` voxels above the middle, as the app shows one (anterior up)."""
    volume = mni_array(resolution)
    z = volume.shape[2] // 2 + offset
    return np.ascontiguousarray(np.flipud(np.fliplr(as_uint8(volume[:, :, z]).T)))


def mni_sagittal(offset=0):
    volume = mni_array(1)
    return np.ascontiguousarray(np.flipud(as_uint8(volume[volume.shape[0] // 2 + offset, :, :]).T))


def mni_coronal(offset=0):
    volume = mni_array(1)
    return np.ascontiguousarray(np.flipud(as_uint8(volume[:, volume.shape[1] // 2 + offset, :]).T))


def new_dataset(sop_class):
    """An empty DICOM dataset of ``sop_class`` with its file meta and a fresh instance UID (explicit little endian)."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
    return ds


def dicom_bytes(pixels, *, transfer_syntax=None, modality="MR", photometric="MONOCHROME2", window=None,
                slope=None, intercept=None, personal=True, frames=None, bits=16):
    """``pixels`` (2-D, or 3-D frames) as a DICOM file; ``transfer_syntax`` a pydicom UID to compress with."""
    from pydicom.uid import MRImageStorage, generate_uid

    array = np.asarray(pixels)
    array = array.astype(np.uint16 if bits == 16 else np.uint8)
    ds = new_dataset(MRImageStorage)
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    if personal:
        for keyword, value in PATIENT.items():
            setattr(ds, keyword, value)
    ds.Modality = modality
    ds.MagneticFieldStrength = 3
    ds.SequenceName = "*tfl3d1_16ns"
    ds.ScanningSequence = "GR\\IR"
    ds.SliceThickness = 1.0
    ds.SeriesDescription = "T1 MPRAGE of Testperson Hermione"
    if array.ndim == 3:
        ds.NumberOfFrames = array.shape[0]
    ds.Rows, ds.Columns = array.shape[-2:]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = bits
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 0
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
    if slope is not None:
        ds.RescaleSlope, ds.RescaleIntercept = slope, intercept or 0
    ds.PixelData = array.tobytes()
    if transfer_syntax is not None:
        ds.compress(transfer_syntax, array)
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def nifti_bytes(volume, affine=None, compressed=False, version=1):
    import nibabel as nib

    image_class = nib.Nifti1Image if version == 1 else nib.Nifti2Image
    image = image_class(np.asarray(volume), np.eye(4) if affine is None else affine)
    raw = image.to_bytes()
    return gzip.compress(raw, compresslevel=5) if compressed else raw


def mni_nifti_bytes(resolution=2, compressed=False, volumes=1, affine=None):
    """The template as .nii(.gz); ``volumes`` > 1 makes a 4-D file whose first volume is the template."""
    image = mni_volume(resolution)
    data = mni_array(resolution)
    if volumes > 1:
        # Later volumes are noise: only the first may be analysed.
        rng = np.random.default_rng(0)
        rest = [rng.random(data.shape, dtype=np.float32) for _ in range(volumes - 1)]
        data = np.stack([data, *rest], axis=-1)
    return nifti_bytes(data, image.affine if affine is None else affine, compressed)
