"""LLVM code generator: decompose -> schedule (fusion) -> emit LLVM IR -> optimize -> JIT.

    prog = compile_function(fn, disk)  # cached by fn.key() and the host target, in memory and
                                       # (with a DiskCache) on disk
    outs = prog(*arrays)             # numpy in, fresh numpy arrays out
    prog.kernels, prog.llvm_ir, prog.llvm_ir_optimized, prog.asm
"""
from .diskcache import DiskCache
from .errors import UnsupportedError
from .program import Program, cache_clear, cache_info, compile_function

__all__ = ["DiskCache", "Program", "UnsupportedError", "cache_clear", "cache_info",
           "compile_function"]
