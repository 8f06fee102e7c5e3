"""Write a short test-pattern video with a tone, to try `diffsal probe` on: python scripts/sample_video.py OUT.mp4"""

import sys

from diffsal.io import AudioTrack, write_video
from diffsal.io.test_pattern import pattern_frame, tone

if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python scripts/sample_video.py OUT.mp4")
    sample_rate_hz, fps, seconds = 44_100, 25, 4
    audio = AudioTrack(tone(seconds, sample_rate_hz)[None], sample_rate_hz)
    frames = (pattern_frame(index, 384, 224) for index in range(fps * seconds))
    count = write_video(sys.argv[1], frames, fps, audio)
    print(f"wrote {sys.argv[1]}: {count} frames at {fps} fps with a 440 Hz tone")
