"""ltr.fit_rnn and ltr.sweep_ranks: the signatures of the C++ bindings
(ltr._ltr._fit_rnn, _sweep_ranks), whose options dict holds every FitOptions
keyword. The defaults are the library's (FitOptions{}), read from the
extension, not retyped; the library's warnings become Python warnings."""
import warnings

from . import _ltr

_D = _ltr._fit_defaults()
_S = _ltr._sweep_defaults()

# The arguments that are data, not FitOptions keywords.
_DATA = ("activity", "rank", "mask", "test_mask", "inputs", "condition", "epoch",
         "init", "base_weights", "axes", "threads", "progress")


def _warn(result):
    for line in result.warnings:
        warnings.warn(line, UserWarning, stacklevel=3)
    if result.failure:
        warnings.warn(result.failure, RuntimeWarning, stacklevel=3)
    return result


def fit_rnn(activity, model=_D["model"], rank=None, *, mask=None, test_mask=None,
            inputs=None, condition=None, epoch=None, axes="trial,time,neuron",
            units=_D["units"], nonlinearity=_D["nonlinearity"], alpha=_D["alpha"],
            loss=_D["loss"], readout=_D["readout"],
            condition_inputs=_D["condition_inputs"], conditions=_D["conditions"],
            base_gain=_D["base_gain"], base_weights=None,
            smoothing=_D["smoothing"], smoothing_weight=_D["smoothing_weight"],
            smoothing_length=_D["smoothing_length"],
            smoothing_amplitude=_D["smoothing_amplitude"],
            smoothing_shape=_D["smoothing_shape"],
            smoothing_jitter=_D["smoothing_jitter"], epoch_breaks=_D["epoch_breaks"],
            l2_w=_D["l2_w"], l2_c=_D["l2_c"], l2_inputs=_D["l2_inputs"],
            l2_bias=_D["l2_bias"], l2_x0=_D["l2_x0"], l2_readout=_D["l2_readout"],
            l2_offset=_D["l2_offset"], l2_activity=_D["l2_activity"],
            poisson_rate_floor=_D["poisson_rate_floor"],
            held_out=_D["held_out"], held_out_seed=_D["held_out_seed"],
            neuron_fraction=_D["neuron_fraction"],
            trial_fraction=_D["trial_fraction"],
            block_trials=_D["block_trials"], block_time=_D["block_time"],
            block_neurons=_D["block_neurons"], test_trials=_D["test_trials"],
            test_time=_D["test_time"], test_neurons=_D["test_neurons"],
            guard=_D["guard"],
            optimizer=_D["optimizer"], max_iters=_D["max_iters"], tol=_D["tol"],
            gradient_tol=_D["gradient_tol"], parameter_tol=_D["parameter_tol"],
            max_seconds=_D["max_seconds"], lbfgs_rank=_D["lbfgs_rank"],
            lbfgs_scaling=_D["lbfgs_scaling"],
            precondition_trial_factors=_D["precondition_trial_factors"],
            precondition_readout=_D["precondition_readout"],
            precondition_every=_D["precondition_every"],
            convergence_window=_D["convergence_window"],
            window_tolerance=_D["window_tolerance"],
            learning_rate=_D["learning_rate"], lr_decay=_D["lr_decay"],
            adam_beta1=_D["adam_beta1"], adam_beta2=_D["adam_beta2"],
            adam_epsilon=_D["adam_epsilon"], patience=_D["patience"],
            progress_every=_D["progress_every"],
            checkpoint=_D["checkpoint"], checkpoint_every=_D["checkpoint_every"],
            init=None, start=_D["start"], init_ridge=_D["init_ridge"],
            init_als_iterations=_D["init_als_iterations"],
            init_em_iterations=_D["init_em_iterations"],
            init_tanh_saturation=_D["init_tanh_saturation"],
            init_x0_scale=_D["init_x0_scale"], seed=_D["seed"],
            threads=None, progress=None):
    """Fits a rate RNN to a recording (ltr::FitRnn; the command line's
    ``ltr fit DATA.h5 --model M --rank R ...``; docs/fit.md).

    The model: x[0] = x0[:, condition], x[t+1] = (1 - alpha) x[t] +
    alpha (W_k phi(x[t]) + W_in u[t] + h[:, condition] + bias), y_hat[t] =
    readout phi(x[t]) + offset, with W_k = W0 + w (full), W0 + a b^T
    (lowrank) or W0 + sum_r c[k, r] a_r b_r^T (ltr). The loss (mse, or
    poisson with rate softplus(y_hat)) on the training entries plus the
    penalties is minimised by L-BFGS (or Adam); held-out entries score it.

    Data:
      activity: array (trial x time x neuron; another stored order with
        ``axes``), or an ltr.Recording (then give none of inputs, mask,
        condition, epoch).
      model: "full", "lowrank" or "ltr". rank: R (required unless full).
      mask: bool or 0/1, the activity's shape: True = observed.
      test_mask: bool or 0/1, the activity's shape: the held-out entries
        (scored, never trained on; replaces held_out, as --test-mask).
      inputs: (trial, time, input) external inputs, driven through W_in.
      condition: one int per trial (x0 and h per condition).
      epoch: one int per trial; the smoothing prior is cut at its changes.
      axes: the stored order of activity, inputs, mask and test_mask, e.g.
        "trial,neuron,time" (the file reader's names and synonyms).
      init: start from this model (an ltr.RnnFit or a model file), as --init.
      base_weights: a fixed (N, N) base W0 (overrides base_gain).

    Options (FitOptions; defaults are the library's, names as ltr fit's
    flags): units (0 = neurons), nonlinearity (tanh, relu, softplus,
    identity), alpha, loss (mse, poisson), readout (free, orthonormal,
    identity), condition_inputs, conditions (0 = 1 + largest label),
    base_gain; smoothing (none, second-diff, gp) with smoothing_weight,
    smoothing_length, _amplitude, _shape, _jitter and epoch_breaks; l2_w,
    l2_c, l2_inputs (w_in and h), l2_bias, l2_x0, l2_readout, l2_offset,
    l2_activity, poisson_rate_floor; held_out (blocks, neurons, none),
    held_out_seed, neuron_fraction, trial_fraction, block_trials,
    block_time, block_neurons, test_trials, test_time, test_neurons,
    guard; optimizer (lbfgs, adam), max_iters, tol (relative cost change),
    gradient_tol, parameter_tol, max_seconds, lbfgs_rank, lbfgs_scaling
    (scale L-BFGS's initial inverse Hessian), precondition_trial_factors
    (L-BFGS over trial factors preconditioned by the smoothing prior),
    precondition_readout and precondition_every (L-BFGS over a free readout
    preconditioned by the latents' Gram matrix, recomputed and L-BFGS
    restarted every precondition_every iterations),
    convergence_window and window_tolerance ("converged" when the objective
    fell by less than window_tolerance of itself over the last
    convergence_window iterations; 0 = off), learning_rate,
    lr_decay, adam_beta1, adam_beta2, adam_epsilon (adam); patience (early
    stopping, 0 = off); progress_every (a progress line every K
    iterations, 0 = none); checkpoint (a path) and checkpoint_every (write
    the fit so far there every K iterations, and on Ctrl-C); start (auto,
    data, random), init_ridge, init_als_iterations, init_em_iterations,
    init_tanh_saturation, init_x0_scale; seed (of the initialisation; the
    split has held_out_seed). An option the chosen model or optimiser
    would ignore (e.g. learning_rate with lbfgs) is a ValueError.

    threads: None (every usable core) or an int; the same seed and threads
    give the same bits as ``ltr fit ... --threads T``. progress: None (the
    'ltr' logger), False, or a callable taking each line (needs
    progress_every > 0). Ctrl-C stops the fit and raises KeyboardInterrupt.

    Returns an ltr.RnnFit (arrays a, b, c, w, readout, ...; termination,
    iterations, train_loss, test_loss, test_metrics, history, ...;
    simulate, predict, save). Likely mistakes in the data are issued as
    UserWarning, a fit that must not be trusted (diverged, or no better
    than each neuron's mean; .failure) as RuntimeWarning.

    Raises ValueError on bad values or shapes (with the library's message,
    unknown names listing the choices), TypeError on bad types, OSError on
    an init file that cannot be read.
    """
    options = {k: v for k, v in locals().items() if k not in _DATA}
    return _warn(_ltr._fit_rnn(activity, rank, mask, test_mask, inputs, condition,
                               epoch, init, base_weights, axes, options, threads,
                               progress))


def sweep_ranks(activity, ranks, *, seeds=_S["seeds"],
                relative_tolerance=_S["relative_tolerance"],
                warm_start=_S["warm_start"], mask=None,
                test_mask=None, inputs=None, condition=None, epoch=None,
                axes="trial,time,neuron", init=None, base_weights=None,
                threads=None, progress=None, **options):
    """Fits every rank of ``ranks`` ``seeds`` times on one held-out split and
    chooses a rank (ltr::SweepRanks; ``ltr fit DATA.h5 --ranks A:B --seeds
    K``; docs/fit.md "Cross-validation").

    With L(r) the lowest held-out loss over the seeds of rank r and r* the
    rank of the lowest L, the chosen rank is the smallest r with L(r) <=
    L(r*) + max(SE(r*), relative_tolerance * |L(r*)|). Seeds are seed,
    seed + 1, ...

    ranks: a list of ints (e.g. range(1, 7)). seeds: fits per rank.
    warm_start: per seed, fit the ranks in increasing order, each from the
    previous rank's fit plus new components as large as its smallest, then
    refit, from the top down, a rank whose held-out loss exceeds the rank
    above's by more than relative_tolerance from that fit without its
    weakest components (docs/fit.md "Warm starts over ranks").
    The data arguments are fit_rnn's, and every other keyword of fit_rnn
    (model, units, held_out, max_iters, seed, ...; not rank) is taken with
    fit_rnn's default. A held-out split is needed (held_out="none" is a
    ValueError). threads, progress: as fit_rnn (progress lines "rank R seed
    S: ..." need progress_every > 0).

    Returns an ltr.RankSweep: ranks, train_loss, test_loss, test_r2
    (ranks x seeds), chosen_rank, best (an ltr.RnnFit), save(path).
    """
    unknown = sorted(set(options) - set(_D))
    if "rank" in options:
        raise TypeError("sweep_ranks takes ranks=, not rank=")
    if unknown:
        raise TypeError(f"sweep_ranks() got an unexpected keyword argument '{unknown[0]}'")
    return _warn(_ltr._sweep_ranks(activity, ranks, seeds, relative_tolerance,
                                   warm_start, mask,
                                   test_mask, inputs, condition, epoch, init,
                                   base_weights, axes, options, threads, progress))


def load_fit(path):
    """Reads a file ``ltr fit -o`` wrote (or RnnFit.save / RankSweep.save):
    an ltr.RnnFit with its statistics, an ltr.RankSweep for a rank sweep, or
    an ltr.RnnFit without statistics for a model file (``ltr synth --kind
    ltr-teacher``). Raises OSError when it cannot be read, ValueError when
    it holds no model."""
    import os
    return _ltr._load_fit(os.fspath(path))
