"""The end-of-run summary: what was trained, where it is, and how to call it."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from rayplane.pipeline import RunResult
from rayplane.storage import Storage

HEADLINE = ("val_auc", "val_accuracy", "val_baseline_accuracy", "val_rmse", "val_mae", "val_baseline_rmse",
            "val_loss", "loss", "samples_per_s", "epoch", "world_size")


def print_summary(result: RunResult, console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title=f"rayplane: {result.spec.name} ({result.run_name}, {result.seconds:.0f} s)",
                  show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    metric, mode = result.spec.metric
    for key in HEADLINE:
        if key in result.metrics:
            value = result.metrics[key]
            label = f"{key} ({mode}imised)" if key == metric else key
            table.add_row(label, f"{value:.4f}" if isinstance(value, float) else str(value))
    baseline = _baseline_line(result.metrics)
    if baseline:
        table.add_row("vs baseline", baseline)
    if result.params:
        table.add_row("best params", ", ".join(f"{k}={_fmt(v)}" for k, v in result.params.items()))
    table.add_row("model", f"{result.version.uri}  {result.version.location.display}")
    if "promotion" in result.extra:
        table.add_row("promotion", result.extra["promotion"])
    table.add_row("runs", Storage.for_spec(result.spec).run(result.run_name.split("/")[0]).display)
    if result.runtime.logs_dir:
        table.add_row("ray logs", result.runtime.logs_dir)
    table.add_row("dashboard", result.runtime.dashboard_url or "not running (use an embedded Ray or --address)")
    if result.endpoint is not None:
        table.add_row("endpoint", result.endpoint.predict_url)
        table.add_row("docs", result.endpoint.docs_url)
    console.print(table)
    if result.endpoint is not None:
        console.print("Try it:\n" + result.endpoint.curl_example(), soft_wrap=True)


def _baseline_line(metrics: dict) -> str | None:
    if "val_baseline_accuracy" in metrics and "val_accuracy" in metrics:
        gain = metrics["val_accuracy"] - metrics["val_baseline_accuracy"]
        auc = f", AUC {metrics['val_auc']:.3f} vs 0.500" if "val_auc" in metrics else ""
        return (f"accuracy {metrics['val_accuracy']:.4f} vs majority class {metrics['val_baseline_accuracy']:.4f} "
                f"({gain:+.4f}){auc}")
    if "val_baseline_rmse" in metrics and "val_rmse" in metrics:
        return f"RMSE {metrics['val_rmse']:.4f} vs predicting the mean {metrics['val_baseline_rmse']:.4f}"
    return None


def _fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
