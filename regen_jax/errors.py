"""The one exception type a user sees as a single `error: ...` line instead of a traceback."""


class UserError(Exception):
  """A problem with the user's inputs (config, workdir, files): explained, never a crash."""
