"""LLVM code generator: decompose -> schedule (fusion) -> emit LLVM IR -> optimize -> JIT.

    prog = compile_function(fn)      # cached by fn.key() and the host target
    outs = prog(*arrays)             # numpy in, fresh numpy arrays out
    prog.kernels, prog.llvm_ir, prog.llvm_ir_optimized, prog.asm
"""
from .errors import UnsupportedError
from .program import Program, cache_clear, cache_info, compile_function

__all__ = ["Program", "UnsupportedError", "cache_clear", "cache_info", "compile_function"]
