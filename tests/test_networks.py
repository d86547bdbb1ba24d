"""Tests of geomstats_dln.networks: conversions, invariants, balanced representative.

Independent references: the package's stacked-layer functions
(``parameters.end_to_end``/``moments``, ``balanced.center``/``best_gauge``,
``fibers.gl_action``), PyTorch's own forward pass, the closed-form fiber
minimum ``N sum s^{2/N}`` and a generic optimizer (BFGS) over the fiber.
"""

import numpy as np
import pytest
from scipy.optimize import minimize

from geomstats_dln.balanced import best_gauge, center, gauge_action, random_gauges
from geomstats_dln.fibers import gl_action
from geomstats_dln.networks import (
    LinearNetwork,
    NetworkEnsemble,
    align_layers,
    load_layers_npz,
)
from geomstats_dln.parameters import end_to_end, moments

torch = pytest.importorskip("torch")


def _random_layers(widths, seed=0):
    rng = np.random.default_rng(seed)
    return [
        rng.normal(size=(widths[k], widths[k - 1])) / np.sqrt(widths[k - 1])
        for k in range(1, len(widths))
    ]


def _fiber_minimum(network):
    # rank X <= min_k d_k: the trailing singular values are rounding noise
    s = np.linalg.svd(network.end_to_end(), compute_uv=False)[: min(network.widths)]
    return network.depth * np.sum(s ** (2.0 / network.depth))


# ------------------------------------------------------------- round trips
@pytest.mark.parametrize("widths", [(3, 3, 3, 3), (64, 16, 16, 10), (2, 5, 1)])
def test_round_trips_list_npz_torch(widths, tmp_path):
    layers = _random_layers(widths)
    network = LinearNetwork(layers)
    assert network.widths == widths and network.depth == len(widths) - 1
    for a, b in zip(layers, network.to_list(), strict=True):
        assert np.max(np.abs(a - b)) <= 1e-15
    path = tmp_path / "net.npz"
    network.to_npz(path)
    loaded = LinearNetwork.from_npz(path)
    back = LinearNetwork.from_torch(network.to_torch())
    for a, b, c in zip(layers, loaded.layers, back.layers, strict=True):
        assert np.max(np.abs(a - b)) <= 1e-15
        assert np.max(np.abs(a - c)) <= 1e-15
    # the stored format is the documented one
    with np.load(path) as archive:
        keys = sorted(archive.files)
    square = len(set(widths)) == 1
    assert keys == (
        ["layers"] if square else [f"layer_{k}" for k in range(1, 4)][: len(layers)]
    )


def test_from_torch_reads_the_weights_and_forward_pass_is_x_times_input():
    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Linear(64, 16, bias=False),
        torch.nn.Linear(16, 16, bias=False),
        torch.nn.Identity(),
        torch.nn.Linear(16, 10, bias=False),
    ).double()
    network = LinearNetwork.from_torch(module)
    assert network.widths == (64, 16, 16, 10)
    weights = [
        m.weight.detach().numpy() for m in module if isinstance(m, torch.nn.Linear)
    ]
    for a, b in zip(weights, network.layers, strict=True):
        assert np.max(np.abs(a - b)) <= 1e-15
    batch = torch.randn(7, 64, dtype=torch.float64)
    with torch.no_grad():
        expected = module(batch).numpy()  # [7, 10], torch's row convention
    x = network.end_to_end()
    assert x.shape == (10, 64)
    scale = np.max(np.abs(expected))
    assert np.max(np.abs((x @ batch.numpy().T).T - expected)) <= 1e-13 * scale
    assert np.max(np.abs(network.apply(batch.numpy().T).T - expected)) <= 1e-13 * scale


def test_float32_module_round_trip_exact():
    module = torch.nn.Sequential(
        torch.nn.Linear(4, 3, bias=False), torch.nn.Linear(3, 2, bias=False)
    )
    network = LinearNetwork.from_torch(module)
    again = network.to_torch(dtype=torch.float32)
    for m, n in zip(module, again, strict=True):
        assert torch.equal(m.weight, n.weight)


def test_ensemble_npz_round_trip_both_formats(tmp_path):
    for widths in [(4, 4, 4), (6, 3, 5, 2)]:
        ensemble = NetworkEnsemble([_random_layers(widths, seed) for seed in range(5)])
        path = tmp_path / f"ens{len(widths)}.npz"
        ensemble.to_npz(path)
        loaded = NetworkEnsemble.from_npz(path)
        assert len(loaded) == 5 and loaded.widths == widths
        for a, b in zip(
            ensemble.stacked_layers(), loaded.stacked_layers(), strict=True
        ):
            assert np.max(np.abs(a - b)) <= 1e-15
        # end-to-end matrices against the product written out
        for network, x in zip(ensemble, loaded.end_to_end(), strict=True):
            product = network.layers[0]
            for layer in network.layers[1:]:
                product = layer @ product
            assert np.max(np.abs(product - x)) <= 1e-15
    stacked = np.random.default_rng(1).normal(size=(3, 2, 4, 4))
    ensemble = NetworkEnsemble.from_array(stacked)
    assert np.max(np.abs(ensemble.to_array() - stacked)) <= 1e-15
    assert np.max(np.abs(ensemble.end_to_end() - end_to_end(stacked))) <= 1e-14


# -------------------------------------------------------------- invariants
def test_invariants_against_stacked_layer_functions():
    stacked = np.random.default_rng(2).normal(size=(3, 3, 3))
    network = LinearNetwork.from_array(stacked)
    assert np.max(np.abs(network.end_to_end() - end_to_end(stacked))) <= 1e-15
    reference = np.asarray(moments(stacked))
    for k, g in enumerate(network.moments()):
        assert np.max(np.abs(g - reference[k])) <= 1e-14
    assert network.balance_defect() == pytest.approx(np.linalg.norm(reference), 1e-14)
    assert network.determinant_sign() == int(
        np.sign(np.linalg.det(end_to_end(stacked)))
    )
    assert network.rank() == 3
    norms = network.layer_norms()
    assert np.allclose(norms, np.linalg.norm(stacked, axis=(-2, -1)), rtol=1e-15)
    # a rank-deficient network
    layers = [np.eye(3), np.diag([1.0, 1.0, 0.0])]
    assert LinearNetwork(layers).rank() == 2
    assert LinearNetwork(layers).determinant_sign() == 0
    assert LinearNetwork(_random_layers((3, 2, 4))).determinant_sign() is None


def test_orthogonal_gauge_keeps_invariants_and_moments_norm():
    stacked = np.random.default_rng(3).normal(size=(4, 3, 3))
    gauges = np.asarray(random_gauges(4, 3))
    network = LinearNetwork.from_array(stacked)
    acted = LinearNetwork.from_array(np.asarray(gauge_action(gauges, stacked)))
    assert np.max(np.abs(acted.end_to_end() - network.end_to_end())) <= 1e-13
    assert acted.balance_defect() == pytest.approx(network.balance_defect(), 1e-12)
    assert acted.determinant_sign() == network.determinant_sign()
    # act() with the same orthogonal matrices is gauge_action
    assert (
        np.max(np.abs(network.act(list(gauges)).to_array() - acted.to_array())) < 1e-14
    )


def test_act_matches_gl_action():
    rng = np.random.default_rng(4)
    stacked = rng.normal(size=(3, 3, 3))
    matrices = rng.normal(size=(2, 3, 3)) + 2 * np.eye(3)
    acted = LinearNetwork.from_array(stacked).act(list(matrices)).to_array()
    assert np.max(np.abs(acted - gl_action(matrices, stacked))) <= 1e-13


# ------------------------------------------------------ balanced representative
def test_balanced_equal_widths_is_center_and_minimal():
    rng = np.random.default_rng(5)
    stacked = rng.normal(size=(3, 4, 4))
    network = LinearNetwork.from_array(stacked)
    balanced = network.balanced()
    x = network.end_to_end()
    assert np.max(np.abs(balanced.to_array() - np.asarray(center(x, 3)))) <= 1e-13
    assert balanced.balance_defect(relative=True) <= 1e-14
    assert np.max(np.abs(balanced.end_to_end() - x)) <= 1e-13 * np.linalg.norm(x)
    assert balanced.squared_norm() == pytest.approx(_fiber_minimum(network), 1e-13)
    # random points of the fiber (GL(d)^{N-1} orbit, balancedness Lemma 1)
    for _ in range(20):
        matrices = rng.normal(size=(2, 4, 4))
        point = gl_action(matrices, stacked)
        assert np.max(np.abs(end_to_end(point) - x)) <= 1e-9 * np.linalg.norm(x)
        assert np.sum(point**2) > balanced.squared_norm()
    aligned = network.balanced(align=True)
    assert aligned.balance_defect(relative=True) <= 1e-13
    assert aligned.squared_norm() == pytest.approx(balanced.squared_norm(), 1e-13)
    assert np.sum((aligned.to_array() - stacked) ** 2) <= np.sum(
        (balanced.to_array() - stacked) ** 2
    )


@pytest.mark.parametrize("widths", [(64, 16, 16, 10), (3, 5, 2, 4), (2, 6, 6, 3)])
def test_balanced_unequal_widths(widths):
    rng = np.random.default_rng(6)
    network = LinearNetwork(_random_layers(widths, seed=7))
    x = network.end_to_end()
    balanced = network.balanced()
    assert balanced.widths == widths
    assert balanced.balance_defect(relative=True) <= 1e-14
    assert np.max(np.abs(balanced.end_to_end() - x)) <= 1e-13 * np.linalg.norm(x)
    assert balanced.squared_norm() == pytest.approx(_fiber_minimum(network), 1e-12)
    for _ in range(10):
        matrices = [rng.normal(size=(w, w)) + np.eye(w) for w in widths[1:-1]]
        point = network.act(matrices)
        assert np.max(np.abs(point.end_to_end() - x)) <= 1e-9 * np.linalg.norm(x)
        assert point.squared_norm() > balanced.squared_norm()
    aligned = network.balanced(align=True)
    assert aligned.balance_defect(relative=True) <= 1e-13
    assert np.max(np.abs(aligned.end_to_end() - x)) <= 1e-12 * np.linalg.norm(x)


def test_fiber_minimum_by_bfgs_matches_closed_form():
    """Kempf-Ness by a generic optimizer over GL(2) x GL(3): 3 -> 2 -> 3 -> 2."""
    widths = (3, 2, 3, 2)
    network = LinearNetwork(_random_layers(widths, seed=8))

    def squared_norm(flat):
        a1, a2 = flat[:4].reshape(2, 2), flat[4:].reshape(3, 3)
        return network.act([a1, a2]).squared_norm()

    start = np.concatenate([np.eye(2).ravel(), np.eye(3).ravel()])
    result = minimize(squared_norm, start, method="BFGS", options={"gtol": 1e-10})
    assert result.fun == pytest.approx(network.balanced().squared_norm(), rel=1e-7)
    assert network.balanced().squared_norm() == pytest.approx(_fiber_minimum(network))


def test_balanced_from_end_to_end_and_depth_one():
    x = np.random.default_rng(9).normal(size=(3, 5))
    net = LinearNetwork.balanced_from_end_to_end(x, depth=4)
    assert net.widths == (5, 3, 3, 3, 3)
    assert np.max(np.abs(net.end_to_end() - x)) <= 1e-13
    assert net.balance_defect(relative=True) <= 1e-14
    one = LinearNetwork([x])
    assert np.array_equal(one.balanced().layers[0], x) and one.moments() == []


def test_align_layers_matches_best_gauge_and_recovers_a_gauge():
    rng = np.random.default_rng(10)
    target = rng.normal(size=(4, 3, 3))
    source = rng.normal(size=(4, 3, 3))
    ours = np.stack(align_layers(list(target), list(source)))
    assert np.max(np.abs(ours - best_gauge(target, source))) <= 1e-12
    gauges = np.asarray(random_gauges(4, 3))
    moved = LinearNetwork.from_array(np.asarray(gauge_action(gauges, target)))
    back = moved.aligned_to(LinearNetwork.from_array(target))
    assert np.max(np.abs(back.to_array() - target)) <= 1e-10


def test_apply_columns():
    network = LinearNetwork(_random_layers((4, 3, 2)))
    inputs = np.random.default_rng(11).normal(size=(4, 6))
    x = network.end_to_end()
    assert np.max(np.abs(network.apply(inputs) - x @ inputs)) <= 1e-14
    assert network.apply(inputs[:, 0]).shape == (2,)
    with pytest.raises(ValueError, match=r"inputs must have shape \[4\]"):
        network.apply(inputs.T)


# --------------------------------------------------------------- bad inputs
def test_bad_layers_are_named():
    with pytest.raises(ValueError, match="layer 2 \\(W_2\\) has 5 input features"):
        LinearNetwork([np.ones((4, 3)), np.ones((2, 5))])
    with pytest.raises(ValueError, match="layer 1 \\(W_1\\) has non-finite"):
        LinearNetwork([np.full((2, 2), np.nan)])
    with pytest.raises(ValueError, match="layer 2 \\(W_2\\) must be a 2-D"):
        LinearNetwork([np.ones((2, 2)), np.ones(2)])
    with pytest.raises(ValueError, match="at least one layer"):
        LinearNetwork([])
    with pytest.raises(TypeError, match="list or tuple"):
        LinearNetwork("abc")
    with pytest.raises(ValueError, match="network 1 has widths"):
        NetworkEnsemble([_random_layers((2, 2)), _random_layers((3, 2))])
    with pytest.raises(ValueError, match="to_array needs equal widths"):
        LinearNetwork(_random_layers((2, 3))).to_array()


def test_bad_torch_modules_are_named():
    nn = torch.nn
    with pytest.raises(ValueError, match="layer '0' \\(Linear\\) has a bias"):
        LinearNetwork.from_torch(nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 2)))
    with pytest.raises(TypeError, match="layer '1' \\(ReLU\\) is a nonlinearity"):
        LinearNetwork.from_torch(
            nn.Sequential(
                nn.Linear(3, 3, bias=False), nn.ReLU(), nn.Linear(3, 2, bias=False)
            )
        )
    with pytest.raises(TypeError, match="layer '0' \\(Conv1d\\) is not a linear layer"):
        LinearNetwork.from_torch(nn.Sequential(nn.Conv1d(1, 1, 3)))
    with pytest.raises(
        ValueError, match="layer '1' \\(Linear\\) \\(W_2\\) has 5 input"
    ):
        LinearNetwork.from_torch(
            nn.Sequential(nn.Linear(4, 3, bias=False), nn.Linear(5, 2, bias=False))
        )

    class Hidden(nn.Module):  # a functional nonlinearity in forward()
        def __init__(self):
            super().__init__()
            self.first = nn.Linear(3, 3, bias=False)
            self.second = nn.Linear(3, 3, bias=False)

        def forward(self, x):
            return self.second(torch.relu(self.first(x)))

    with pytest.raises(ValueError, match="forward pass is not"):
        LinearNetwork.from_torch(Hidden())
    with pytest.raises(TypeError, match="torch.nn.Module"):
        LinearNetwork.from_torch([np.eye(2)])


def test_bad_npz_files(tmp_path):
    missing = tmp_path / "missing.npz"
    with pytest.raises(ValueError, match="no such file"):
        load_layers_npz(missing)
    text = tmp_path / "text.npz"
    text.write_text("not an archive")
    with pytest.raises(ValueError, match="not a readable .npz"):
        load_layers_npz(text)
    cases = {
        "keys.npz": ({"weights": np.ones((2, 2, 2))}, "expected an array 'layers'"),
        "gap.npz": (
            {"layer_1": np.ones((2, 2, 2)), "layer_3": np.ones((2, 2, 2))},
            "expected an array 'layers'",
        ),
        "shape.npz": ({"layers": np.ones((2, 3, 3))}, "must have shape"),
        "widths.npz": (
            {"layer_1": np.ones((2, 3, 2)), "layer_2": np.ones((2, 2, 4))},
            "layer 2 \\(W_2\\) has 4 input features",
        ),
        "count.npz": (
            {"layer_1": np.ones((2, 3, 2)), "layer_2": np.ones((3, 2, 3))},
            "layer 2 holds 3 networks",
        ),
        "nan.npz": ({"layers": np.full((1, 2, 2, 2), np.inf)}, "non-finite"),
    }
    for name, (arrays, message) in cases.items():
        np.savez(tmp_path / name, **arrays)
        with pytest.raises(ValueError, match=message):
            load_layers_npz(tmp_path / name)
    np.savez(tmp_path / "two.npz", layers=np.ones((2, 2, 3, 3)))
    with pytest.raises(ValueError, match="holds 2 networks: pass index"):
        LinearNetwork.from_npz(tmp_path / "two.npz")
    assert LinearNetwork.from_npz(tmp_path / "two.npz", index=1).widths == (3, 3, 3)


def test_from_torch_any_module_in_registration_order():
    class TwoLayers(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = torch.nn.Linear(5, 2, bias=False)
            self.decoder = torch.nn.Linear(2, 3, bias=False)

        def forward(self, x):
            return self.decoder(self.encoder(x))

    module = TwoLayers().double()
    network = LinearNetwork.from_torch(module)
    assert network.widths == (5, 2, 3)
    batch = torch.randn(4, 5, dtype=torch.float64)
    with torch.no_grad():
        expected = module(batch).numpy()
    assert np.max(np.abs(network.apply(batch.numpy().T).T - expected)) <= 1e-14
