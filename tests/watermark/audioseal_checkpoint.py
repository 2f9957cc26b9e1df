"""Build tiny AudioSeal checkpoints in the published file format (for loader tests, untrained)."""
from __future__ import annotations

from pathlib import Path

TINY_CONFIG = {
    "nbits": 16,
    "seanet": {"activation": "ELU", "activation_params": {"alpha": 1.0}, "causal": False, "channels": 1,
               "compress": 2, "dilation_base": 2, "dimension": 8, "disable_norm_outer_blocks": 0, "kernel_size": 7,
               "last_kernel_size": 7, "lstm": 0, "n_filters": 4, "n_residual_layers": 1, "norm": "none",
               "norm_params": {}, "pad_mode": "constant", "ratios": [4, 2], "residual_kernel_size": 3,
               "true_skip": True},
    "decoder": {"final_activation": None, "final_activation_params": None, "trim_right_ratio": 1.0},
    "detector": {"output_dim": 32},
}


def build_checkpoints(directory: Path) -> tuple[Path, Path]:
    """torch.save {"xp.cfg": config, "model": state_dict} with the published (pre-TorchScript) key
    names, which AudioSeal's loader converts on load."""
    import torch
    from audioseal.builder import AudioSealDetectorConfig, AudioSealWMConfig, create_detector, create_generator
    from audioseal.loader import AudioSeal

    torch.manual_seed(0)
    paths = []
    for name, config_type, create in (("generator", AudioSealWMConfig, create_generator),
                                      ("detector", AudioSealDetectorConfig, create_detector)):
        model = create(AudioSeal.parse_config(dict(TINY_CONFIG), config_type))
        state = {key.replace(".inner_conv.", "."): value for key, value in model.state_dict().items()}
        path = directory / f"{name}.pth"
        torch.save({"xp.cfg": TINY_CONFIG, "model": state}, path)
        paths.append(path)
    return paths[0], paths[1]
