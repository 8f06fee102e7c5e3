"""Settings of the running process: its device and place in a torchrun launch (`launch`), how its memory
allocator keeps freed blocks (`memory`), and what it runs on (`environment_report`)."""

from diffsal.runtime.environment import environment_report
from diffsal.runtime.launch import (DEVICE_CHOICES, DEVICE_HELP, TorchrunEnv, check_device_spec, describe_devices,
                                    resolve_device)
from diffsal.runtime.memory import keep_freed_memory

__all__ = ["DEVICE_CHOICES", "DEVICE_HELP", "TorchrunEnv", "check_device_spec", "describe_devices",
           "environment_report", "keep_freed_memory", "resolve_device"]
