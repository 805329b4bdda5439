"""PCM16 mono WAV files: build the canonical 44-byte-header form, inspect any PCM WAV.

Every TTS adapter hands out `SynthesizedAudio.wav` in the canonical form built here, and checks
bytes it did not build itself (cloud responses) with `inspect_wav` before trusting them.
"""

from __future__ import annotations

import io
import math
import operator
import struct
import sys
import wave
from array import array
from dataclasses import dataclass

from domain.errors import PermanentTtsError

WAV_HEADER_SIZE = 44

# RIFF header, "fmt " chunk (PCM, mono, 16-bit) and "data" chunk header; all little-endian.
_HEADER = struct.Struct("<4sI4s4sIHHIIHH4sI")


def pcm16_wav(pcm: bytes | array[int], sample_rate: int) -> bytes:
    """A mono 16-bit PCM WAV: 44-byte header, then the samples little-endian.

    `pcm` is either little-endian sample bytes or an `array('h')` of samples (native order).
    """
    if isinstance(pcm, array):
        if pcm.typecode != "h":
            raise ValueError("samples must be an array('h')")
        if sys.byteorder == "big":
            pcm = array("h", pcm)
            pcm.byteswap()
        data = pcm.tobytes()
    else:
        data = bytes(pcm)
    if len(data) % 2:
        raise ValueError("16-bit PCM must have an even number of bytes")
    header = _HEADER.pack(
        b"RIFF",
        36 + len(data),
        b"WAVE",
        b"fmt ",
        16,  # fmt chunk size
        1,  # WAVE_FORMAT_PCM
        1,  # channels
        sample_rate,
        sample_rate * 2,  # byte rate
        2,  # block align
        16,  # bits per sample
        b"data",
        len(data),
    )
    return header + data


@dataclass(frozen=True, slots=True)
class WavInfo:
    sample_rate: int
    channels: int
    sample_width: int  # bytes per sample
    frames: int  # frames actually present in the data chunk
    duration_ms: int  # frames / sample_rate, rounded to the millisecond
    rms: float  # root mean square of all samples as a fraction of full scale (0.0 to ~1.0)


# array typecodes for the sample widths `wave` accepts; 8-bit WAV samples are unsigned.
_TYPECODES = {1: "B", 2: "h", 4: "i"}


def inspect_wav(data: bytes) -> WavInfo:
    """Parse a PCM WAV; raises PermanentTtsError("output is not a valid WAV") on anything else."""
    try:
        with wave.open(io.BytesIO(data), "rb") as reader:
            rate = reader.getframerate()
            channels = reader.getnchannels()
            width = reader.getsampwidth()
            # A header may over-state the data length (truncated output): trust the bytes.
            frames_bytes = reader.readframes(reader.getnframes())
    except (wave.Error, EOFError, struct.error, ValueError) as exc:
        raise PermanentTtsError("output is not a valid WAV") from exc
    if rate <= 0 or channels <= 0 or width not in _TYPECODES:
        raise PermanentTtsError("output is not a valid WAV")
    frames = len(frames_bytes) // (width * channels)
    samples = array(_TYPECODES[width])
    samples.frombytes(frames_bytes[: frames * width * channels])
    if width > 1 and sys.byteorder == "big":
        samples.byteswap()
    return WavInfo(
        sample_rate=rate,
        channels=channels,
        sample_width=width,
        frames=frames,
        duration_ms=round(frames * 1000 / rate),
        rms=_rms(samples, width),
    )


def _rms(samples: array[int], width: int) -> float:
    if not samples:
        return 0.0
    if width == 1:
        centred = [s - 128 for s in samples]
        square_sum = sum(map(operator.mul, centred, centred))
    else:
        square_sum = sum(map(operator.mul, samples, samples))
    full_scale = float(1 << (8 * width - 1))
    return math.sqrt(square_sum / len(samples)) / full_scale
