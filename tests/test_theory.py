"""Section 3.4 numerically: Lemma 3 (purely imaginary spectrum) and Lemma 4 (diagonalisable) for
the Jacobian Kᵀ D(y) K Jᵀ of the time-invariant H1 and H2 vector fields."""

import numpy as np
import pytest
import torch

from hdnn.blocks import make_block


def real_part_ratio(A):
    """max |Re λ| / max(|λ|, ‖A‖): zero for a purely imaginary spectrum."""
    lam = np.linalg.eigvals(A)
    return np.abs(lam.real).max() / max(np.abs(lam).max(), np.linalg.norm(A, 2))


def is_diagonalisable(A, tol=1e-8):
    """Full-rank eigenvector matrix (smallest singular value of the unit-norm V above tol)."""
    _, V = np.linalg.eig(A)
    return np.linalg.svd(V, compute_uv=False).min() > tol


def random_block(arch, nf, seed):
    torch.manual_seed(seed)
    return make_block(arch, nf=nf, depth=4, h=0.1, time_invariant=True,
                      bias_init=torch.nn.init.normal_).double()


@pytest.mark.parametrize("arch", ["H1", "H2"])
@pytest.mark.parametrize("nf", [2, 4, 6, 10])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_jacobian_is_autograd_of_vector_field(arch, nf, seed):
    blk = random_block(arch, nf, seed)
    w = blk.weights(0)
    y = torch.randn(3, nf, dtype=torch.float64)

    def f(x):  # eq. 10, column form
        return w["J"] @ w["K"].T @ torch.tanh(w["K"] @ x + w["b"])

    ours = blk.vector_field_jacobian(y)
    for i in range(3):
        auto = torch.autograd.functional.jacobian(f, y[i])
        # Eq. 16 writes ∂f/∂y in the transposed (column-gradient) convention of the paper.
        torch.testing.assert_close(ours[i], auto.T, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("arch", ["H1", "H2"])
@pytest.mark.parametrize("nf", [2, 4, 6, 10])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lemma3_and_lemma4(arch, nf, seed):
    blk = random_block(arch, nf, seed)
    y = 2 * torch.randn(5, nf, dtype=torch.float64)
    for A in blk.vector_field_jacobian(y).detach().numpy():
        assert real_part_ratio(A) < 1e-9
        assert is_diagonalisable(A)


@pytest.mark.parametrize("nf", [4, 6])
def test_lemma3_check_fails_for_non_skew_J(nf):
    blk = random_block("H2", nf, 0)
    w = {k: v.detach().numpy() for k, v in blk.weights(0).items()}
    rng = np.random.default_rng(0)
    J = rng.standard_normal((nf, nf))  # not skew-symmetric
    y = rng.standard_normal(nf)
    d = 1 - np.tanh(w["K"] @ y + w["b"]) ** 2
    A = w["K"].T @ np.diag(d) @ w["K"] @ J.T
    assert real_part_ratio(A) > 1e-3


def test_lemma4_check_fails_for_a_jordan_block():
    assert not is_diagonalisable(np.array([[0.0, 1.0], [0.0, 0.0]]))
    assert is_diagonalisable(np.array([[0.0, 1.0], [-1.0, 0.0]]))
