"""Gradient ascent of the timbre half of a Kokoro style against a speaker-similarity objective.

With the prosody half fixed, the decoder's inputs for the calibration sentences are fixed
(synthesis.engines.kokoro_torch), so the timbre half can follow the gradient of Resemblyzer's
cosine similarity to the owner's centroid through a PyTorch copy of the decoder and a
differentiable copy of Resemblyzer's front end. The offset lives in a given basis (enrollment
passes the span of the stock voices' timbre halves), so the search moves only along directions
real voices use. Each step renders short random crops (1.2 s,
CROP_FRAMES) rather than whole sentences, so a step costs about one second
on 2 cores and stays within a few hundred MB.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from synthesis.engines.kokoro_torch import DecoderInputs

ENCODER_RATE = 16000
KOKORO_RATE = 24000
CROP_FRAMES = 48  # 48 decoder frames = 1.2 s of speech per crop (120 mel frames; Resemblyzer partials are 160)


def torch_norm(x):
    return (x * x).sum().sqrt()


@lru_cache(maxsize=1)
def _mel_basis():
    import librosa
    import torch

    # Resemblyzer's wav_to_mel_spectrogram: librosa melspectrogram, 25 ms / 10 ms, 40 bands, power.
    return torch.from_numpy(librosa.filters.mel(sr=ENCODER_RATE, n_fft=400, n_mels=40).astype(np.float32))


class SpeakerObjective:
    """Resemblyzer's embedding of Kokoro audio crops, differentiable with respect to the audio.

    Mirrors consent.speaker.embed_speaker (resample to 16 kHz, Resemblyzer's mel front end,
    its GE2E LSTM on 160-frame partials, mean of the partials); Resemblyzer's own front end
    is numpy/librosa, so it is rewritten here in torch with the same filterbank and framing.
    Loudness normalisation and VAD trimming are left out: crops are loud speech already
    (Kokoro speaks about 10 dB above Resemblyzer's -30 dBFS floor, so it would not change them).
    """

    def __init__(self, target: np.ndarray, target_mfcc: np.ndarray, *, channel_rate: int | None = None,
                 spectral_weight: float = 0.004, equalizer: tuple[list, list] | None = None):
        import librosa
        import scipy.fft
        import torch

        from consent.speaker import _encoder

        self.channel_rate = channel_rate  # a narrowband owner: candidates are heard through the same band
        self.equalizer = equalizer  # the output equaliser (synthesis.equalizer), as a gain per frequency
        self.spectral_weight = spectral_weight
        self.encoder = _encoder()
        for parameter in self.encoder.parameters():
            parameter.requires_grad_(False)
        self.target = torch.from_numpy(np.asarray(target, np.float32))
        self.window = torch.hann_window(400, periodic=True)
        self.target_mfcc = torch.from_numpy(np.asarray(target_mfcc, np.float32))
        self.mfcc_window = torch.hann_window(512, periodic=True)
        self.mfcc_mel = torch.from_numpy(librosa.filters.mel(sr=ENCODER_RATE, n_fft=512, n_mels=128).astype(np.float32))
        self.dct = torch.from_numpy(scipy.fft.dct(np.eye(128), type=2, norm="ortho", axis=0)[:20].astype(np.float32))

    def resample(self, audio, semitones: float):
        """24 kHz Kokoro audio, pitch-shifted by ``semitones`` as shift_pitch does, to 16 kHz."""
        import torch

        ratio = (ENCODER_RATE / KOKORO_RATE) * 2 ** (-semitones / 12)
        length = int(round(audio.shape[-1] * ratio))
        spectrum = torch.fft.rfft(audio)
        if self.equalizer:
            # the engine equalises after the pitch shift: bin k of the 24 kHz audio ends up at
            # k / ratio' Hz; its magnitude response, zero phase (the FIR is linear phase)
            hz = torch.fft.rfftfreq(audio.shape[-1], 1 / KOKORO_RATE).numpy() * 2 ** (semitones / 12)
            db = np.interp(hz, self.equalizer[0], self.equalizer[1], right=0.0)
            spectrum = spectrum * torch.from_numpy((10 ** (db / 20)).astype(np.float32))
        spectrum = spectrum[..., : length // 2 + 1]
        if self.channel_rate and self.channel_rate < ENCODER_RATE:
            # as judges.band_limit: nothing above the owner's recordings' Nyquist frequency
            keep = int(spectrum.shape[-1] * self.channel_rate / ENCODER_RATE)
            spectrum = torch.cat([spectrum[..., :keep], torch.zeros_like(spectrum[..., keep:])], dim=-1)
        return torch.fft.irfft(spectrum, n=length) * (length / audio.shape[-1])

    def embed(self, crops: list, semitones: float):
        import torch

        partials = []
        for crop in crops:
            wav = self.resample(crop, semitones)
            spec = torch.stft(wav, 400, 160, 400, window=self.window, center=True, pad_mode="constant",
                              return_complex=True).abs() ** 2
            mel = (_mel_basis() @ spec).T  # [frames, 40]
            partials.append(mel[:160])
        embeds = self.encoder(torch.stack(partials))
        mean = embeds.mean(dim=0)
        return mean / (mean.norm() + 1e-9)

    def similarity(self, crops: list, semitones: float):
        return (self.embed(crops, semitones) * self.target).sum()

    def mfcc_mean(self, crop, semitones: float):
        """synthesis.enrollment.mfcc_mean in torch: librosa's MFCCs 1-19 (128 mel bands, 512-point
        FFT, 10 ms hop, dB with an 80 dB floor, orthonormal DCT) averaged over the loudest 60 % of
        frames."""
        import torch

        wav = self.resample(crop, semitones)
        spec = torch.stft(wav, 512, 160, 512, window=self.mfcc_window, center=True, pad_mode="constant",
                          return_complex=True).abs() ** 2
        db = 10 * torch.log10(torch.clamp(self.mfcc_mel @ spec, min=1e-10))
        db = torch.maximum(db, db.max() - 80.0)
        mfcc = self.dct @ db  # [20, frames]
        loud = mfcc[0] > torch.quantile(mfcc[0].detach(), 0.4)
        return mfcc[1:, loud].mean(dim=1)

    def spectral_distance(self, crop, semitones: float):
        return torch_norm(self.mfcc_mean(crop, semitones) - self.target_mfcc)


RANGE_WEIGHT = 0.05  # per unit of squared (normalised) distance beyond 1.5 stock spreads
RANGE_LIMIT = 1.5


def gradient_step(decoder, objective: SpeakerObjective, optimizer, coefficients, directions,
                  inputs: list[DecoderInputs], base_timbre: np.ndarray, semitones: float, bounds,
                  rng: np.random.Generator) -> float:
    """One optimiser step on the timbre offset ``coefficients @ directions`` (``coefficients``: a
    [k] tensor with gradients; ``directions``: [k, 128] orthonormal); returns the mean similarity
    of this step's crops.

    One random crop (CROP_FRAMES, 1.2 s) per calibration sentence; the objective is the mean of the crops'
    similarities, so each crop is back-propagated on its own and only one graph is alive at a
    time. A penalty keeps the timbre within RANGE_LIMIT of the stock voices' spread
    (``bounds`` = (centre, spread) per dimension), so the voice stays natural.
    """
    import torch

    optimizer.zero_grad()
    similarities = []
    for item, row in zip(inputs, base_timbre):
        offset = coefficients @ directions
        start = int(rng.integers(0, max(item.frames - CROP_FRAMES, 0) + 1))
        audio = decoder(item.crop(start, min(CROP_FRAMES, item.frames)), torch.from_numpy(row) + offset)
        similarity = objective.similarity([audio], semitones)
        spectral = objective.spectral_distance(audio, semitones)
        ((objective.spectral_weight * spectral - similarity) / len(inputs)).backward()
        similarities.append(float(similarity.detach()))
    centre, spread = bounds
    z = (torch.from_numpy(base_timbre.mean(axis=0)) + coefficients @ directions - centre) / spread
    (RANGE_WEIGHT * torch.relu(z.abs() - RANGE_LIMIT).pow(2).mean()).backward()
    optimizer.step()
    return float(np.mean(similarities))
