"""The node provider the local autoscaler runs: Ray's ``fake_multinode`` with each node kept to itself.

Ray's provider starts every worker node in the head's session directory, so all nodes share one
``runtime_resources`` directory: a node that joins re-extracts a job's working directory there, and a node
that goes idle deletes it, under the feet of the workers of every other node (seen as jobs dying with
FileNotFoundError or torch failing to load). Here each node gets its own runtime-environment directory, and
only the head runs a log monitor (they share one log directory, so every monitor would forward every line).

Each worker node also gets a HOME and a working directory of its own (``<state dir>/nodes/<id>/``), as a
separate machine has: whatever assumes that nodes share a local disk (a default ``~/.rayplane``, a relative
path) then fails or writes visibly apart here too, instead of working by accident.
The autoscaler loads this class in its own process (``provider: {type: external, module: ...}``).
"""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path

import ray
import ray._private.ray_constants as ray_constants
from ray.autoscaler._private.fake_multi_node.node_provider import FakeMultiNodeProvider
from ray.autoscaler.tags import (
    NODE_KIND_WORKER,
    STATUS_UP_TO_DATE,
    TAG_RAY_NODE_KIND,
    TAG_RAY_NODE_NAME,
    TAG_RAY_NODE_STATUS,
    TAG_RAY_USER_NODE_TYPE,
)


class LocalNodeProvider(FakeMultiNodeProvider):
    def _create_node_with_resources_and_labels(self, node_config, tags, count, resources, labels):
        resources = copy.deepcopy(resources)
        with self.lock:
            node_type = tags[TAG_RAY_USER_NODE_TYPE]
            node_id = self._next_hex_node_id()
            node_dir = Path(self.provider_config["nodes_dir"]) / node_id[-8:]
            (node_dir / "home").mkdir(parents=True, exist_ok=True)
            params = ray._private.parameter.RayParams(
                min_worker_port=0,
                max_worker_port=0,
                dashboard_port=None,
                dashboard_agent_listen_port=0,
                num_cpus=resources.pop("CPU", 0),
                num_gpus=resources.pop("GPU", 0),
                object_store_memory=resources.pop("object_store_memory", None),
                resources=resources,
                labels=labels,
                redis_address=self._gcs_address,
                gcs_address=self._gcs_address,
                runtime_env_dir_name=f"runtime_resources_{node_id[-5:]}",
                include_log_monitor=False,
                env_vars={
                    "HOME": str(node_dir / "home"),
                    "RAY_OVERRIDE_NODE_ID_FOR_TESTING": node_id,
                    "RAY_CLOUD_INSTANCE_ID": node_id,
                    "RAY_NODE_TYPE_NAME": node_type,
                    ray_constants.RESOURCES_ENVIRONMENT_VARIABLE: json.dumps(resources),
                    ray_constants.LABELS_ENVIRONMENT_VARIABLE: json.dumps(labels),
                },
            )
            # The raylet, and every worker process it starts, inherits the working directory it starts in.
            with contextlib.chdir(node_dir):
                node = ray._private.node.Node(params, head=False, shutdown_at_exit=False, spawn_reaper=False)
            self._nodes[node_id] = {
                "tags": {
                    TAG_RAY_NODE_KIND: NODE_KIND_WORKER,
                    TAG_RAY_USER_NODE_TYPE: node_type,
                    TAG_RAY_NODE_NAME: node_id,
                    TAG_RAY_NODE_STATUS: STATUS_UP_TO_DATE,
                    **tags,
                },
                "node": node,
            }
