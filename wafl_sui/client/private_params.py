"""A private task's parameters from what its creator asks (epsilon, delta, clip, expected batch,
records, rounds): the accountant's calibration, at the finest clipped-error resolution whose
circuit fits the private size limit. Used by `wafl task create --dp-epsilon` and `wafl simulate
--dp-epsilon` alike."""

from __future__ import annotations

from wafl_sui.client import privacy_accounting
from wafl_sui.protocol import ProtocolError, StepSpec, privacy
from wafl_sui.zk.circuit import MAX_PRIVATE_CONSTRAINTS, constraint_formula


def private_params(spec: StepSpec, *, target_epsilon: float, target_delta: float, steps: int, records: int,
                   clip: float, expected_batch: int) -> privacy.DpParams:
    """Calibrated DpParams for `spec` (linear, local_steps 1; its batch_size is ignored). The
    noise the budget needs grows with clip_q = clip * 2^(KE + KX), and the sampler's table with
    the noise: KE goes down from DEFAULT_CLIP_FRAC_BITS (1/16) until the circuit has at most
    MAX_PRIVATE_CONSTRAINTS constraints; EInvalidPrivacy, naming what to change, if none fits."""
    if expected_batch >= records:
        raise ProtocolError("EInvalidPrivacy", f"the expected batch {expected_batch} must be below the records a "
                                               f"client registers ({records}): each record is sampled with "
                                               "probability batch / records")
    tried = []
    for ke in range(privacy.DEFAULT_CLIP_FRAC_BITS, 0, -1):
        p = privacy_accounting.calibrate(
            target_epsilon=target_epsilon, target_delta=target_delta, steps=steps, records=records, clip=clip,
            clip_frac_bits=ke, feature_frac_bits=spec.feature_frac_bits, d=spec.num_weights,
            expected_batch=expected_batch)
        n = constraint_formula(spec.with_privacy(p))["total"]
        if n <= MAX_PRIVATE_CONSTRAINTS:
            return p
        tried.append(f"{n:,} at clip_frac_bits {ke}")
    raise ProtocolError("EInvalidPrivacy", f"epsilon {target_epsilon} over {steps} updates needs a noise sampler whose "
                                           f"circuit is over the {MAX_PRIVATE_CONSTRAINTS:,}-constraint limit "
                                           f"({'; '.join(tried)}): raise the epsilon, take fewer rounds or fewer "
                                           "records per client")
