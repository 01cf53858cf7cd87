"""Kubernetes: a workload spec rendered to KubeRay objects (RayJob, RayService), applied and read back.

Rendering is pure data (``rayplane.k8s.render``); the pod specs come from the Helm chart's own rendering
(``rayplane.k8s.template``), so the chart stays the one place pods are described. Every call to the
Kubernetes API lives in ``rayplane.k8s.client``.
"""
