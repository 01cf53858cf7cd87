"""``rayplane k8s``: a workload spec as KubeRay objects; render them, apply them, read their state."""

from __future__ import annotations

import functools
from typing import Any

import click

from rayplane.errors import K8sError
from rayplane.k8s.render import COMMANDS, UPGRADE_STRATEGIES, WORKLOAD, Renderer, RenderOptions
from rayplane.k8s.template import PACKAGED_RELEASE, ClusterTemplate, fullname
from rayplane.k8s.yamlout import dump, dump_all
from rayplane.spec import load_spec

KINDS = ("rayjob", "rayservice")
# Both the objects `rayplane k8s apply` makes and those the chart makes carry it.
PART_OF = "app.kubernetes.io/part-of=rayplane"
INCREMENTAL_OPTIONS = ("gateway_class", "step_size_percent", "interval_seconds", "max_surge_percent")


def render_options(command):
    @click.argument("spec_path", metavar="SPEC", type=click.Path(dir_okay=False))
    @click.option("-n", "--namespace", default="default", show_default=True, help="Namespace of the objects.")
    @click.option("--name", help="Base name of the objects (default: the workload name).")
    @click.option("--command", "job_command", type=click.Choice(COMMANDS), default="run", show_default=True,
                  help="What the RayJob runs: rayplane run (without serving), train or tune.")
    @click.option("--release", default=PACKAGED_RELEASE, show_default=True,
                  help="Helm release of the chart in the namespace: the default --cluster, and the ServiceAccount, "
                       "storage claim and pod labels (NetworkPolicy) of the default template (--template has its own).")
    @click.option("--cluster", help="RayCluster the job runs on (default: the release's, or that of --template).")
    @click.option("--ephemeral", is_flag=True, help="Give the job its own cluster, deleted when it finishes.")
    @click.option("--working-dir", help="URI of a zip of the spec's directory (Ray runtime_env working_dir); "
                                        "default: the workloads baked into the image.")
    @click.option("--spec-path", "cluster_spec_path",
                  help="Path of the spec on the cluster (default: derived from the above).")
    @click.option("--model-version", type=click.IntRange(min=1),
                  help="Version the RayService serves (default: the latest, when the storage is mounted here).")
    @click.option("--upgrade-strategy", type=click.Choice(UPGRADE_STRATEGIES), default="NewCluster",
                  show_default=True, help="How the RayService rolls out a new version.")
    @click.option("--gateway-class", help="NewClusterWithIncrementalUpgrade: the Gateway API class that splits "
                                          "traffic between the clusters (required for it).")
    @click.option("--step-size-percent", type=click.IntRange(0, 100), default=25, show_default=True,
                  help="NewClusterWithIncrementalUpgrade: traffic moved to the new cluster per step.")
    @click.option("--interval-seconds", type=click.IntRange(min=1), default=30, show_default=True,
                  help="NewClusterWithIncrementalUpgrade: seconds between steps.")
    @click.option("--max-surge-percent", type=click.IntRange(0, 100), default=100, show_default=True,
                  help="NewClusterWithIncrementalUpgrade: capacity the new cluster may add ahead of traffic.")
    @click.option("--ttl", type=click.IntRange(min=0), default=300, show_default=True,
                  help="Seconds an ephemeral cluster outlives its finished job.")
    @click.option("--active-deadline", type=click.IntRange(min=1), help="Seconds before KubeRay fails the job.")
    @click.option("--template", "template_path", type=click.Path(dir_okay=False),
                  help="RayJob rendered by the chart with your values (default: the chart's defaults).")
    @click.option("--only", type=click.Choice(KINDS), help="Only this object.")
    @functools.wraps(command)
    def wrapper(spec_path, namespace, name, job_command, release, cluster, ephemeral, working_dir,
                cluster_spec_path, model_version, upgrade_strategy, gateway_class, step_size_percent,
                interval_seconds, max_surge_percent, ttl, active_deadline, template_path, only, **kwargs):
        given = click.get_current_context().get_parameter_source
        upgrade_options = None
        # Only when asked for: the renderer refuses these options with any other strategy.
        if any(given(p) is click.core.ParameterSource.COMMANDLINE for p in INCREMENTAL_OPTIONS):
            upgrade_options = {"gatewayClassName": gateway_class, "stepSizePercent": step_size_percent,
                               "intervalSeconds": interval_seconds, "maxSurgePercent": max_surge_percent}
        template = ClusterTemplate.from_file(template_path) if template_path else ClusterTemplate.packaged(release)
        options = RenderOptions(
            namespace=namespace, name=name, command=job_command,
            cluster=None if ephemeral else (cluster or template.release_cluster or fullname(release)),
            spec_path=cluster_spec_path, working_dir=working_dir, model_version=model_version,
            ttl_seconds=ttl, active_deadline_seconds=active_deadline, upgrade_strategy=upgrade_strategy,
            upgrade_options=upgrade_options,
        )
        renderer = Renderer(load_spec(spec_path), spec_path, options, template)
        return command(renderer=renderer, only=only, **kwargs)

    return wrapper


def rendered_objects(renderer: Renderer, only: str | None) -> list[dict[str, Any]]:
    objects = [] if only == "rayservice" else [renderer.rayjob()]
    version = served_version(renderer, only)
    return objects if version is None else [*objects, renderer.rayservice(version)]


def rendered_values(renderer: Renderer, only: str | None) -> dict[str, Any]:
    values = renderer.helm_values(served_version(renderer, only))
    if only == "rayservice":
        del values["rayJob"]
    return values


def served_version(renderer: Renderer, only: str | None) -> int | None:
    """The model version the RayService serves; None (with a note) when it cannot be known here."""
    if only == "rayjob":
        return None
    version, why = renderer.model_version()
    if version is not None and why != "--model-version":
        click.echo(f"note: the RayService serves {renderer.spec.name}:v{version} ({why}); after a promotion or a "
                   "rollback, apply again: only its serveConfigV2 changes, and KubeRay updates it in place", err=True)
    if version is None:
        message = (f"no registered version of {renderer.spec.name!r} found under {renderer.registry().root.display} "
                   "from here; pass --model-version N")
        if only == "rayservice":
            raise K8sError(message)
        click.echo(f"note: no RayService: {message}", err=True)
    return version


def cluster_options(command):
    @click.option("--kubeconfig", type=click.Path(dir_okay=False), help="Kubeconfig file (default: $KUBECONFIG).")
    @click.option("--context", "kube_context", help="Kubeconfig context (default: its current one).")
    @functools.wraps(command)
    def wrapper(kubeconfig, kube_context, **kwargs):
        from rayplane.k8s.client import KubeClient

        return command(client=KubeClient(kubeconfig, kube_context), **kwargs)

    return wrapper


@click.group()
def k8s() -> None:
    """Run a workload spec on a KubeRay cluster: RayJob to train, RayService to serve."""


@k8s.command()
@render_options
@click.option("--format", "output", type=click.Choice(["manifests", "values"]), default="manifests",
              show_default=True, help="Kubernetes objects, or values for the helm/rayplane chart.")
def render(renderer: Renderer, only: str | None, output: str) -> None:
    """Print the RayJob (training) and RayService (serving) for SPEC."""
    if output == "values":
        click.echo(dump(rendered_values(renderer, only)), nl=False)
    else:
        click.echo(dump_all(rendered_objects(renderer, only)), nl=False)


@k8s.command()
@click.argument("path", metavar="[FILE|-]", default="-",
                type=click.Path(exists=True, dir_okay=False, allow_dash=True))
def validate(path: str) -> None:
    """Check Kubernetes objects offline as the API server and KubeRay 1.7 would (default: stdin).

    ray.io objects against the KubeRay CRDs shipped with rayplane, built-in objects and pod templates against
    Kubernetes' schemas, and the rules KubeRay enforces beyond its schemas. Feed it `helm template` output,
    `rayplane k8s render` output or your own manifests.
    """
    from rayplane.k8s.validate import parse

    source = "stdin" if path == "-" else path
    with click.open_file(path) as stream:
        objects = parse(stream.read(), source)
    check(objects, source)
    click.echo(f"{source}: {len(objects)} object(s) valid")


def check(objects: list[dict[str, Any]], source: str) -> None:
    from rayplane.k8s.validate import problems

    found = problems(objects)
    if found:
        raise K8sError(f"{source}: {len(found)} problem(s) the API server or KubeRay would refuse:\n"
                       + "\n".join(f"  - {p}" for p in found))


@k8s.command()
@render_options
@cluster_options
def apply(renderer: Renderer, only: str | None, client) -> None:
    """Validate, then create or update SPEC's RayJob and RayService (server-side apply)."""
    objects = rendered_objects(renderer, only)
    check(objects, f"rayplane k8s apply {renderer.spec_file}")
    for obj in objects:
        client.apply(obj)
        click.echo(f"applied {obj['kind']} {obj['metadata']['namespace']}/{obj['metadata']['name']}")


@k8s.command()
@click.argument("spec_path", metavar="[SPEC]", required=False, type=click.Path(dir_okay=False))
@click.option("-n", "--namespace", default="default", show_default=True, help="Namespace to look in.")
@cluster_options
def status(spec_path: str | None, namespace: str, client) -> None:
    """State of the rayplane RayJobs and RayServices: those `apply` made and those the chart made (only
    SPEC's, when given)."""
    from rayplane.k8s.status import summarize

    selector = PART_OF
    if spec_path:
        selector += f",{WORKLOAD}={load_spec(spec_path).name}"
    rows = [summarize(obj) for kind in ("RayJob", "RayService") for obj in client.list(kind, namespace, selector)]
    if not rows:
        click.echo(f"no rayplane RayJobs or RayServices in namespace {namespace} ({selector})")
        return
    width = max(len(r.name) for r in rows)
    for row in rows:
        click.echo(f"{row.kind:<10}  {row.name:<{width}}  {row.state:<12}  {row.detail}".rstrip())
