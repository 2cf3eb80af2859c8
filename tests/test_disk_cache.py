"""The persistent cache of compiled code: a second process loads instead of compiling, and
damaged, foreign or unsafe entries and directories never crash a call or give wrong numbers."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tracegrad as tg
from tracegrad.codegen import DiskCache, cache_clear, cache_info, compile_function
from tracegrad.codegen.program import key_parts, program_key
from tracegrad.ir import Builder, TensorType, float32, ops

SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tracegrad as tg
    from tracegrad.codegen import cache_info

    @tg.compile
    def step(x, w1, w2):
        return ((x @ w1).relu() @ w2).tanh().pow(2).mean() * SCALE

    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((8, 5)).astype(np.float32))
    w1 = tg.tensor(rng.standard_normal((5, 6)).astype(np.float32), requires_grad=True)
    w2 = tg.tensor(rng.standard_normal((6, 2)).astype(np.float32), requires_grad=True)
    loss = step(x, w1, w2)
    loss.backward()
    print(json.dumps({"loss": loss.item(), "g1": w1.grad.numpy().tolist(),
                      "g2": w2.grad.numpy().tolist(), "stats": cache_info()}))
""")


def _env(cache_dir) -> dict:
    """The environment of a second process: this cache, and the tracegrad under test."""
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(tg.__file__)))
    return dict(os.environ, TRACEGRAD_CACHE_DIR=str(cache_dir),
                PYTHONPATH=os.pathsep.join([package_root, os.environ.get("PYTHONPATH", "")]))


def _run(script_path, cache_dir, scale=2.0):
    script_path.write_text(SCRIPT.replace("SCALE", repr(scale)))
    env = _env(cache_dir)
    out = subprocess.run([sys.executable, str(script_path)], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout), out.stderr


def test_second_process_loads_compiled_code_without_llvm(tmp_path):
    first, _ = _run(tmp_path / "train.py", tmp_path / "cache")
    second, err = _run(tmp_path / "train.py", tmp_path / "cache")
    # One program: the loss and its gradients (a scalar loss compiles fused).
    assert first["stats"]["llvm_compiles"] == 1 and first["stats"]["disk_hits"] == 0
    assert second["stats"]["llvm_compiles"] == 0 and second["stats"]["disk_hits"] == 1
    assert err == ""
    assert (first["loss"], first["g1"], first["g2"]) == (second["loss"], second["g1"],
                                                          second["g2"])
    modes = {oct(os.stat(tmp_path / "cache" / d).st_mode & 0o777) for d in ("", "v1")}
    assert modes == {"0o700"}


def test_source_change_of_the_traced_function_invalidates_its_entry(tmp_path):
    a, _ = _run(tmp_path / "train.py", tmp_path / "cache", scale=2.0)
    b, _ = _run(tmp_path / "train.py", tmp_path / "cache", scale=3.0)
    assert b["stats"]["llvm_compiles"] >= 1
    assert b["loss"] == pytest.approx(a["loss"] * 1.5, rel=1e-6)


def test_two_processes_compiling_at_once(tmp_path):
    cache = tmp_path / "cache"
    env = _env(cache)
    (tmp_path / "train.py").write_text(SCRIPT.replace("SCALE", "2.0"))
    procs = [subprocess.Popen([sys.executable, str(tmp_path / "train.py")], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0 and err == "", err
        results.append(json.loads(out))
    assert results[0]["loss"] == results[1]["loss"] and results[0]["g1"] == results[1]["g1"]
    third, err = _run(tmp_path / "train.py", cache)
    assert third["stats"]["llvm_compiles"] == 0 and err == ""
    assert third["loss"] == results[0]["loss"]
    assert not [n for n in os.listdir(cache / "v1") if n.startswith(".tmp-")]


def _function(scale: float):
    b = Builder("scaled")
    x = b.param(TensorType((4,), float32), "x")
    return b.build([ops.exp(x * scale)])


def _fresh(fn, disk):
    """Compile `fn` as a new process would: nothing in memory."""
    cache_clear()
    return compile_function(fn, disk)


def _check(prog, scale):
    x = np.arange(4, dtype=np.float32)
    np.testing.assert_allclose(prog(x)[0], np.exp(x * scale), rtol=1e-6)


@pytest.fixture
def disk(tmp_path):
    return DiskCache(str(tmp_path / "cache"))


def _entry(disk, fn):
    key = program_key(key_parts(fn))
    return os.path.join(disk.dir, key + ".json"), os.path.join(disk.dir, key + ".o")


def test_in_process_round_trip_and_metadata(disk):
    fn = _function(0.5)
    _check(_fresh(fn, disk), 0.5)
    prog = _fresh(fn, disk)
    assert prog.source == "disk" and cache_info()["disk_hits"] == 1
    _check(prog, 0.5)
    assert "define" in prog.llvm_ir and len(prog.kernels) == 1   # regenerated for inspection
    meta_path, obj_path = _entry(disk, fn)
    meta = json.loads(open(meta_path).read())
    assert meta["name"] == "scaled" and meta["hits"] == 1 and meta["ir"] == str(fn)
    assert set(meta["parts"]) >= {"ir", "tracegrad", "tracegrad_source", "llvmlite", "llvm",
                                  "triple", "cpu", "features", "options"}


def _edit_meta(path, **changes):
    with open(path) as f:
        meta = json.load(f)
    meta.update(changes)
    if "llvm" in changes:
        meta["parts"] = dict(meta["parts"], llvm=meta.pop("llvm"))
    with open(path, "w") as f:
        json.dump(meta, f)


@pytest.mark.parametrize("damage, message", [
    (lambda m, o: open(o, "r+b").truncate(os.path.getsize(o) // 2), "truncated or altered"),
    (lambda m, o: open(o, "wb").write(os.urandom(4096)), "truncated or altered"),
    (lambda m, o: open(m, "wb").write(b"\x00garbage{"), "ignoring damaged entry"),
    (lambda m, o: _edit_meta(m, format=0), "format 0, expected 1"),
    (lambda m, o: _edit_meta(m, key="0" * 64), "key does not match"),
    (lambda m, o: _edit_meta(m, llvm="1.0.0"), "key does not match"),
])
def test_damaged_entries_are_misses_with_a_warning(disk, damage, message):
    fn = _function(1.5)
    _fresh(fn, disk)
    meta_path, obj_path = _entry(disk, fn)
    damage(meta_path, obj_path)
    with pytest.warns(RuntimeWarning, match=message):
        prog = _fresh(fn, disk)
    assert prog.source == "compiled" and cache_info()["llvm_compiles"] == 1
    _check(prog, 1.5)
    assert _fresh(fn, disk).source == "disk"        # rewritten by the recompilation


def _untrusted(tmp_path, kind):
    root = tmp_path / "cache"
    if kind == "symlink":
        (tmp_path / "real").mkdir(mode=0o700)
        root.symlink_to(tmp_path / "real")
    elif kind == "world-writable":
        root.mkdir()
        os.chmod(root, 0o777)
    elif kind == "group-writable":
        root.mkdir()
        os.chmod(root, 0o770)
    elif kind == "foreign":
        if os.geteuid() == 0:
            root.mkdir(mode=0o700)
            os.chown(root, 12345, 12345)
        else:
            return "/"   # owned by root, not by us
    return str(root)


@pytest.mark.parametrize("kind, message", [
    ("symlink", "is a symbolic link"), ("world-writable", "writable by group or others"),
    ("group-writable", "writable by group or others"), ("foreign", "owned by another user"),
])
def test_untrusted_directories_are_not_used(tmp_path, kind, message):
    disk = DiskCache(_untrusted(tmp_path, kind))
    fn = _function(2.5)
    with pytest.warns(RuntimeWarning, match=message):
        prog = _fresh(fn, disk)
    _check(prog, 2.5)
    assert prog.source == "compiled"
    assert not os.path.exists(os.path.join(disk.dir, "")) or not os.listdir(disk.dir)


def test_untrusted_entry_files_are_not_loaded(disk):
    fn = _function(3.5)
    _fresh(fn, disk)
    meta_path, obj_path = _entry(disk, fn)
    os.chmod(obj_path, 0o666)
    with pytest.warns(RuntimeWarning, match="writable by group or others"):
        assert _fresh(fn, disk).source == "compiled"


def test_a_cache_that_cannot_be_created_or_written_only_warns(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("not a directory")
    with pytest.warns(RuntimeWarning, match="cannot create"):
        _check(_fresh(_function(4.5), DiskCache(str(tmp_path / "file" / "cache"))), 4.5)

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr("tempfile.mkstemp", full)
    with pytest.warns(RuntimeWarning, match="No space left on device"):
        _check(_fresh(_function(5.5), DiskCache(str(tmp_path / "ok"))), 5.5)
    assert os.listdir(tmp_path / "ok" / "v1") == []


def test_compiled_functions_use_the_configured_directory(tmp_path):
    tg.config.cache_dir = str(tmp_path / "mine")
    try:
        f = tg.compile(lambda x: x * 41.0)
        assert f(tg.ones(2)).tolist() == [41.0, 41.0]
    finally:
        tg.config.reset()
    assert any(n.endswith(".o") for n in os.listdir(tmp_path / "mine" / "v1"))
    tg.config.disk_cache = False
    try:
        g = tg.compile(lambda x: x * 43.0)
        g(tg.ones(2))
    finally:
        tg.config.reset()
    assert len([n for n in os.listdir(tmp_path / "mine" / "v1") if n.endswith(".o")]) == 1


MODEL = textwrap.dedent("""
    import tracegrad as tg

    def loss(x, w):
        y = (x @ w).tanh()
        while y.data.norm() < 10:
            y = y * 2
        return (y ** 2).mean()

    if __name__ == "__main__":
        tg.manual_seed(0)
        x, w = tg.randn(4, 3), tg.randn(3, 2, requires_grad=True)
        tg.compile(loss)(x, w).backward()
""")


def _cli(*args, cache):
    env = _env(cache)
    return subprocess.run([sys.executable, "-m", "tracegrad", *args], capture_output=True,
                          text=True, env=env, timeout=120)


def test_cache_command_line(tmp_path):
    cache = tmp_path / "cache"
    model = tmp_path / "model.py"
    model.write_text(MODEL)
    env = _env(cache)
    subprocess.run([sys.executable, str(model)], check=True, env=env, timeout=120)

    info = _cli("cache", "info", cache=cache)
    assert info.returncode == 0
    assert f"location: {cache / 'v1'}" in info.stdout and "entries:  1" in info.stdout

    ls = _cli("cache", "ls", cache=cache).stdout.splitlines()
    assert ls[0].split() == ["function", "signature", "size", "age", "hits", "key"]
    names = sorted(line.split()[0] for line in ls[1:])
    assert names == ["loss"]
    assert "(%x: f32[4,3], %w: f32[3,2]) -> (f32[]," in "\n".join(ls)

    target = f"{model}:loss"
    why = _cli("cache", "why", target, "--shape", "4,3", "--shape", "3,2",
               "--requires-grad", "1", cache=cache)
    assert why.returncode == 0, why.stdout + why.stderr
    assert why.stdout.splitlines() == [l for l in why.stdout.splitlines() if ": hit (" in l]
    assert why.stdout.startswith("value_and_grad: hit (") and len(why.stdout.splitlines()) == 1

    miss = _cli("cache", "why", target, "--shape", "5,3", "--shape", "3,2",
                "--requires-grad", "1", cache=cache)
    assert miss.returncode == 1
    assert "value_and_grad: miss: nearest entry" in miss.stdout and "differs in ir" in miss.stdout
    assert "now:    func @loss(%x: f32[5,3]" in miss.stdout

    verify = _cli("cache", "verify", cache=cache)
    assert verify.returncode == 0, verify.stdout
    assert len([l for l in verify.stdout.splitlines() if l.startswith("ok ")]) == 1

    obj = next(p for p in (cache / "v1").iterdir() if p.suffix == ".o")
    obj.write_bytes(obj.read_bytes()[:100])
    broken = _cli("cache", "verify", cache=cache)
    assert broken.returncode == 1 and "FAILED" in broken.stdout

    cleared = _cli("cache", "clear", cache=cache)
    assert cleared.stdout.startswith("removed 2 file(s)")
    assert "entries:  0" in _cli("cache", "info", cache=cache).stdout
