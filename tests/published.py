"""Sardana et al. 2024's published dollar example (../shared/REFERENCES.md section 2), stated once.

Names are the options' one name (Python, web API); :func:`cli_args` spells them as CLI flags.
"""

SARDANA_REQUESTS = dict(requests=1e10, input_tokens=1000, output_tokens=250)
SARDANA_HARDWARE = dict(train_gpu="a100-80gb", train_usd_per_gpu_hour=1.40, train_mfu=0.5,
                        inference_gpu="a100-40gb", inference_dtype="int8",
                        inference_usd_per_gpu_hour=0.60)
SARDANA_MFU = dict(prefill_mfu=0.4, decode_mfu=0.2)
#: The whole example as plan options (demand + hardware + fixed MFUs); target loss 1.947.
SARDANA_DOLLARS = SARDANA_REQUESTS | SARDANA_HARDWARE | SARDANA_MFU

def cli_args(options: dict) -> list[str]:
    """``{"train_mfu": 0.5}`` -> ``["--train-mfu", "0.5"]``."""
    out = []
    for key, value in options.items():
        out += ["--" + key.replace("_", "-"), str(value)]
    return out
