"""Optimizer configurations shared by the optimizer tests."""

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.8, dampening=0.3, weight_decay=0.05)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.2)),
    ("RMSProp", dict(lr=0.01)),
    ("RMSProp", dict(lr=0.01, momentum=0.9, weight_decay=0.1)),
    ("RMSProp", dict(lr=0.01, alpha=0.9, centered=True)),
    ("RMSProp", dict(lr=0.01, momentum=0.5, centered=True, eps=1e-6)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1)),
    ("Adam", dict(lr=0.01, betas=(0.9, 0.5), amsgrad=True)),  # small beta2: v shrinks
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, betas=(0.9, 0.6), weight_decay=0.1, amsgrad=True)),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in cfg.items())}" for name, cfg in CASES]
