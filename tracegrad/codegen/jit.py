"""Host target, optimization pipeline and the ORC LLJIT that holds compiled programs."""
from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass

import llvmlite
import llvmlite.binding as llvm

# llvmlite binding calls share one global lock anyway; ours also guards our own state.
LOCK = threading.RLock()
_names = itertools.count()


@dataclass(frozen=True)
class Target:
    triple: str
    cpu: str
    features: str
    data_layout: str

    @property
    def key(self) -> tuple:
        """What compiled code depends on besides the function itself."""
        return (llvmlite.__version__, self.triple, self.cpu, self.features)


class _Jit:
    def __init__(self):
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        triple = llvm.get_process_triple()
        cpu = llvm.get_host_cpu_name()
        features = llvm.get_host_cpu_features().flatten()
        if "+avx512f" in features:
            features += ",-prefer-256-bit"
        # Host CPU name + features: without them LLVM targets baseline SSE2.
        self.tm = llvm.Target.from_triple(triple).create_target_machine(
            cpu=cpu, features=features, opt=3, reloc="pic", codemodel="default")
        self.target = Target(triple, cpu, features, str(self.tm.target_data))
        self.lljit = llvm.create_lljit_compiler(self.tm)

    def optimize(self, ir_text: str) -> llvm.ModuleRef:
        mod = llvm.parse_assembly(ir_text)
        mod.verify()
        pto = llvm.create_pipeline_tuning_options(speed_level=3)
        pto.loop_vectorization = True
        pto.slp_vectorization = True
        pto.loop_interleaving = True
        pto.loop_unrolling = True
        pb = llvm.create_pass_builder(self.tm, pto)
        pb.getModulePassManager().run(mod, pb)
        return mod

    def load_object(self, obj: bytes, entry: str, imports: dict):
        """Link object code into the JIT, resolving `imports` (symbol -> address, e.g. BLAS)
        and the process's symbols (libm) now; (resource tracker, entry address). The
        tracker keeps the code alive."""
        builder = llvm.JITLibraryBuilder().add_object_img(obj).add_current_process()
        for name, address in imports.items():
            builder.import_symbol(name, address)
        builder.export_symbol(entry)
        tracker = builder.link(self.lljit, f"tracegrad{next(_names)}")
        return tracker, tracker[entry]

    def assembly(self, optimized_ir: str) -> str:
        return self.tm.emit_assembly(llvm.parse_assembly(optimized_ir))


_jit: _Jit | None = None


def jit() -> _Jit:
    global _jit
    with LOCK:
        if _jit is None:
            _jit = _Jit()
        return _jit
