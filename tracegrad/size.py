"""`Size`: the tuple type of `Tensor.shape`, printed as PyTorch prints it."""
import math


class Size(tuple):
    def __repr__(self) -> str:
        return f"torch.Size({list(self)})"

    def numel(self) -> int:
        return math.prod(self)
