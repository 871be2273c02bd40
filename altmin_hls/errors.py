"""Exception types. Each message names the offending key, file, line or value and the fix."""


class AltminError(Exception):
    """Base class of every error that altmin-hls raises on purpose."""


class ConfigError(AltminError):
    """A project config key has an invalid value."""


class DataFileError(AltminError):
    """An event, stream or weight file is malformed."""


class BuildError(AltminError):
    """g++ or another external tool failed; the message carries the tail of its log."""


class MismatchError(AltminError):
    """Two views of the network that must agree bit for bit do not."""


class ProjectExistsError(AltminError):
    """The output folder already contains a different project."""
