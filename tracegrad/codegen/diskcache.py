"""The persistent cache of compiled programs: object code plus JSON metadata, one pair per key.

Layout: `<root>/v1/<key>.o` (the object file LLVM emitted) and `<key>.json` (what the key was
made of, the calling convention, the object's SHA-256, the IR text, hit counts). Nothing is
pickled and nothing is executed before it is validated: an entry is used only when its
metadata parses, names this format, this key and these key parts, and the object's length and
hash match. Anything else is a miss with one warning; the entry is then rewritten.

Writes go to a temporary file in the same directory, then `os.replace` (atomic); readers never
open temporaries. A failed write only warns. The directories are created 0700; a root or entry
that is a symlink, owned by another user, or writable by group or others is not trusted: the
cache then stays in memory, with one warning.
"""
from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
import time
import warnings

FORMAT = 1
_TMP = ".tmp-"
_warned: set = set()


def _warn_once(key, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        warnings.warn(f"tracegrad cache: {message}", RuntimeWarning, stacklevel=4)


def _distrust(path: str) -> str | None:
    """Why `path` must not be trusted, or None."""
    try:
        st = os.lstat(path)
    except OSError as e:
        return f"cannot stat {path}: {e.strerror}"
    if stat.S_ISLNK(st.st_mode):
        return f"{path} is a symbolic link"
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        return f"{path} is owned by another user (uid {st.st_uid})"
    if st.st_mode & 0o022:
        return f"{path} is writable by group or others (mode {stat.S_IMODE(st.st_mode):#o})"
    return None


class DiskCache:
    """Object code and metadata under `root` (see the module docstring)."""

    def __init__(self, root: str):
        self.root = os.path.abspath(os.path.expanduser(root))
        self.dir = os.path.join(self.root, f"v{FORMAT}")

    def usable(self) -> bool:
        """Create the directories if needed and check they can be trusted."""
        for path in (self.root, self.dir):
            if not os.path.lexists(path):
                try:
                    os.makedirs(path, mode=0o700, exist_ok=True)
                    os.chmod(path, 0o700)
                except OSError as e:
                    _warn_once(("mkdir", path), f"cannot create {path} ({e.strerror}); compiled "
                               f"code is kept in memory only")
                    return False
            why = _distrust(path)
            if why is not None:
                _warn_once(("trust", path), f"not using {self.root}: {why}; compiled code is "
                           f"kept in memory only")
                return False
        return True

    def _path(self, key: str, ext: str) -> str:
        return os.path.join(self.dir, f"{key}{ext}")

    def load(self, key: str, parts: dict) -> tuple[dict, bytes] | None:
        """(metadata, object code) for `key`, or None (a miss; damaged entries warn once)."""
        meta_path = self._path(key, ".json")
        if not os.path.exists(meta_path):
            return None
        try:
            for path in (meta_path, self._path(key, ".o")):
                why = _distrust(path)
                if why is not None:
                    raise ValueError(why)
            with open(meta_path, "rb") as f:
                meta = json.loads(f.read().decode())
            if not isinstance(meta, dict) or meta.get("format") != FORMAT:
                raise ValueError(f"format {meta.get('format') if isinstance(meta, dict) else '?'}"
                                 f", expected {FORMAT}")
            if meta.get("key") != key or meta.get("parts") != parts:
                raise ValueError("its key does not match its contents")
            with open(self._path(key, ".o"), "rb") as f:
                obj = f.read()
            if len(obj) != meta.get("object_bytes") or \
                    hashlib.sha256(obj).hexdigest() != meta.get("object_sha256"):
                raise ValueError("the object file is truncated or altered")
        except (OSError, ValueError, UnicodeDecodeError, AttributeError) as e:
            _warn_once(("entry", meta_path), f"ignoring damaged entry {meta_path}: {e}")
            return None
        meta["hits"] = int(meta.get("hits", 0)) + 1
        meta["last_used"] = time.time()
        self._write(meta_path, json.dumps(meta).encode(), quiet=True)
        return meta, obj

    def store(self, key: str, parts: dict, meta: dict, obj: bytes) -> None:
        """Write an entry (object first: the metadata, written last, commits it)."""
        meta = dict(meta, format=FORMAT, key=key, parts=parts, object_bytes=len(obj),
                    object_sha256=hashlib.sha256(obj).hexdigest(), created=time.time(),
                    last_used=time.time(), hits=0)
        if self._write(self._path(key, ".o"), obj):
            self._write(self._path(key, ".json"), json.dumps(meta).encode())

    def _write(self, path: str, data: bytes, quiet: bool = False) -> bool:
        tmp = None
        try:
            fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=_TMP)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
            return True
        except OSError as e:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
            if not quiet:
                _warn_once(("write", self.dir), f"cannot write to {self.dir} ({e.strerror}); "
                           f"compiled code is kept in memory only")
            return False

    def entries(self) -> list[dict]:
        """Metadata of every readable entry (for `tracegrad cache ls`), with its size."""
        out = []
        try:
            names = sorted(os.listdir(self.dir))
        except OSError:
            return out
        for name in names:
            if name.startswith(_TMP) or not name.endswith(".json"):
                continue
            path = os.path.join(self.dir, name)
            try:
                with open(path, "rb") as f:
                    meta = json.loads(f.read().decode())
                meta["size"] = os.path.getsize(path) + os.path.getsize(path[:-5] + ".o")
            except (OSError, ValueError, UnicodeDecodeError):
                meta = {"key": name[:-5], "damaged": True, "size": 0}
            out.append(meta)
        return out

    def clear(self) -> int:
        """Delete every entry (and stray temporaries); the number of files removed."""
        removed = 0
        try:
            names = os.listdir(self.dir)
        except OSError:
            return 0
        for name in names:
            if name.endswith((".json", ".o")) or name.startswith(_TMP):
                try:
                    os.unlink(os.path.join(self.dir, name))
                    removed += 1
                except OSError:
                    pass
        return removed
