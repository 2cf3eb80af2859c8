"""`Size`: the tuple type of `Tensor.shape`, printed as PyTorch prints it."""


class Size(tuple):
    def __repr__(self) -> str:
        return f"torch.Size({list(self)})"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n
