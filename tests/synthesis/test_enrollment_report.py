"""What an enrollment leaves on its record for the voice page: every judge's figures beside the stock voice's."""
from __future__ import annotations

import pytest

from synthesis import services
from synthesis.models import EnrollmentStatus
from tests.synthesis.test_pipeline_support import *  # noqa: F401,F403  (fixtures)

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_a_finished_enrollment_stores_both_encoders_pitch_and_envelope_for_stock_result_and_owner(tenant, voice,
                                                                                                 consent):
    artifact = services.start_enrollment(voice, tenant.producer.user, budget_s=1, run_now=True)

    assert artifact.status == EnrollmentStatus.READY
    judges = artifact.report["judges"]
    for side in ("stock", "enrolled"):
        assert {"resemblyzer", "whisper", "f0_gap_st", "spectral_distance"} <= set(judges[side])
        assert all(isinstance(value, float) for value in judges[side].values())
        assert -1.0 <= judges[side]["resemblyzer"] <= 1.0 and judges[side]["f0_gap_st"] >= 0
    assert set(judges["owner"]) == {"resemblyzer", "whisper"}  # the owner's own second-recording scores
    assert artifact.report["best_stock_voice"] and artifact.similarity is not None
