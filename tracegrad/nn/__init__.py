"""Neural-network building blocks; `tracegrad.nn.functional` holds the function forms."""
from . import functional
from .modules import (ELU, GELU, SELU, AdaptiveAvgPool2d, AvgPool2d, BatchNorm1d, BatchNorm2d,
                      BCELoss, BCEWithLogitsLoss, Conv2d, CrossEntropyLoss, Dropout, Embedding,
                      Flatten, Hardsigmoid, Hardswish, Hardtanh, Identity, L1Loss, LayerNorm,
                      LeakyReLU, Linear, LogSigmoid, LogSoftmax, MaxPool2d, Mish, Module,
                      ModuleList, MSELoss, NLLLoss, Parameter, ReLU, ReLU6, Sequential, Sigmoid,
                      SiLU, SmoothL1Loss, Softmax, Softplus, Softsign, Tanh)

__all__ = ["functional", "ELU", "GELU", "SELU", "AdaptiveAvgPool2d", "AvgPool2d", "BatchNorm1d",
           "BatchNorm2d", "BCELoss", "BCEWithLogitsLoss", "Conv2d", "CrossEntropyLoss",
           "Dropout", "Embedding", "Flatten", "Hardsigmoid", "Hardswish", "Hardtanh",
           "Identity", "L1Loss", "LayerNorm", "LeakyReLU", "Linear", "LogSigmoid",
           "LogSoftmax", "MaxPool2d", "Mish", "Module", "ModuleList", "MSELoss", "NLLLoss",
           "Parameter", "ReLU", "ReLU6", "Sequential", "Sigmoid", "SiLU", "SmoothL1Loss",
           "Softmax", "Softplus", "Softsign", "Tanh"]
