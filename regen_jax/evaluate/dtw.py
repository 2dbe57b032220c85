"""Dynamic time warping: the cheapest monotonic alignment of two sequences."""

import numpy as np


def dtw_path(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Minimum-cost monotonic path through `cost` (N, M) with steps (1,0), (0,1), (1,1).

  Each row is one vectorised pass: D[j] = c[j] + min(A[j], D[j-1]) with A[j] = min(D'[j], D'[j-1])
  of the previous row D' unrolls to D[j] = S[j] + min_{k<=j}(A[k] - S[k-1]) with S = cumsum(c).
  """
  n, m = cost.shape
  total = np.empty((n, m))
  total[0] = np.cumsum(cost[0])
  for i in range(1, n):
    above = total[i - 1]
    arrive = np.minimum(above, np.concatenate([[np.inf], above[:-1]]))
    running = np.cumsum(cost[i])
    shifted = np.concatenate([[0.0], running[:-1]])
    total[i] = running + np.minimum.accumulate(arrive - shifted)
  rows, cols = [n - 1], [m - 1]
  i, j = n - 1, m - 1
  while i or j:
    moves = [(i - 1, j - 1), (i - 1, j), (i, j - 1)]
    i, j = min((move for move in moves if move[0] >= 0 and move[1] >= 0), key=lambda p: total[p])
    rows.append(i)
    cols.append(j)
  return np.array(rows[::-1]), np.array(cols[::-1])
