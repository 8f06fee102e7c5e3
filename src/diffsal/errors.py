"""Exception families. The CLI prints any of these as one line and exits with `exit_code`."""

import errno

# A write failed because of the disk, not the data: full, over quota, read-only.
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})


class DiffSalError(Exception):
    """Base class of every error that diffsal reports to the user as one line."""

    exit_code = 1


class InputError(DiffSalError):
    """The user gave something unusable (a path, a value, a file)."""

    exit_code = 2


class MediaError(InputError):
    """A video or audio file that cannot be opened or decoded as asked."""


class ConfigError(InputError):
    """A configuration value is missing or wrong; the message names the key."""


class DatasetError(InputError):
    """A dataset on disk is incomplete or malformed; the message names the file."""


class StorageError(DiffSalError):
    """Results cannot be written (full disk, quota, read-only file system); finished work is kept."""

    exit_code = 2
