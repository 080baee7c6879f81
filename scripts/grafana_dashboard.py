#!/usr/bin/env python3
"""Writes docs/grafana/swarmd.json, the Grafana dashboard of a swarm's nodes, from the metric
names swarmd exports (docs/monitoring.md lists them). Re-run after adding or renaming a metric:
    scripts/grafana_dashboard.py > docs/grafana/swarmd.json
The monitoring ctest checks that every metric queried here is one a node exports."""
import json

DS = {"type": "prometheus", "uid": "${datasource}"}
SEL = 'instance=~"$instance"'

# (row title, [(panel title, unit, [(expr, legend)])])
ROWS = [
    ("Training", [
        ("Round", "none", [(f"swarmd_round{{{SEL}}}", "{{instance}}")]),
        ("Loss (last round)", "none", [(f"swarmd_loss{{{SEL}}}", "{{instance}}")]),
        ("Held-out accuracy", "percentunit", [(f"swarmd_accuracy{{{SEL}}} >= 0", "{{instance}}")]),
        ("Merged (1 once the final merge is written)", "none",
         [(f"swarmd_merged{{{SEL}}}", "{{instance}}")]),
    ]),
    ("ZO updates", [
        ("Updates published and received per second", "ops", [
            (f"rate(swarmd_updates_published_total{{{SEL}}}[1m])", "{{instance}} out"),
            (f"rate(swarmd_updates_received_total{{{SEL}}}[1m])", "{{instance}} in"),
        ]),
        ("Updates in the log", "none", [(f"swarmd_updates{{{SEL}}}", "{{instance}}")]),
        ("Updates refused, by reason", "ops", [
            (f"sum by (reason) (rate(swarmd_updates_refused_total{{{SEL}}}[5m]))", "{{reason}}")]),
        ("Sync records", "ops", [
            (f"rate(swarmd_sync_records_accepted_total{{{SEL}}}[5m])", "{{instance}} accepted"),
            (f"sum by (reason) (rate(swarmd_sync_records_dropped_total{{{SEL}}}[5m]))",
             "dropped: {{reason}}"),
            (f"sum by (reason) (rate(swarmd_sync_refused_total{{{SEL}}}[5m]))", "refused: {{reason}}"),
        ]),
        ("Checkpoints fetched on joining", "none", [
            (f"sum by (result) (swarmd_join_checkpoints_total{{{SEL}}})", "{{result}}")]),
    ]),
    ("SAPO", [
        ("Reward", "none", [
            (f"swarmd_sapo_reward{{{SEL}}}", "{{instance}} last round"),
            (f"swarmd_sapo_reward_recent{{{SEL}}}", "{{instance}} last 10 rounds"),
        ]),
        ("Cumulative reward", "none", [(f"swarmd_sapo_cumulative_reward{{{SEL}}}", "{{instance}}")]),
        ("Rollouts generated and external groups used per second", "ops", [
            (f"rate(swarmd_sapo_rollouts_total{{{SEL}}}[1m])", "{{instance}} rollouts"),
            (f"rate(swarmd_sapo_external_groups_used_total{{{SEL}}}[1m])", "{{instance}} external groups"),
        ]),
        ("Rollout batches", "ops", [
            (f"rate(swarmd_rollout_batches_published_total{{{SEL}}}[1m])", "{{instance}} out"),
            (f"rate(swarmd_rollout_batches_received_total{{{SEL}}}[1m])", "{{instance}} in"),
            (f"rate(swarmd_rollout_batches_rejected_total{{{SEL}}}[5m])", "{{instance}} rejected"),
            (f"rate(swarmd_rollout_batches_ignored_total{{{SEL}}}[5m])", "{{instance}} ignored"),
        ]),
        ("Base policies and merge weights refused", "ops", [
            (f"sum by (reason) (rate(swarmd_base_refused_total{{{SEL}}}[5m]))", "base: {{reason}}"),
            (f"sum by (reason) (rate(swarmd_merge_weights_refused_total{{{SEL}}}[5m]))",
             "weights: {{reason}}"),
        ]),
    ]),
    ("Gossip", [
        ("Gossip messages per second", "ops", [
            (f"rate(swarmd_gossip_messages_received_total{{{SEL}}}[1m])", "{{instance}} in"),
            (f"rate(swarmd_gossip_messages_sent_total{{{SEL}}}[1m])", "{{instance}} out"),
            (f"rate(swarmd_gossip_duplicates_total{{{SEL}}}[1m])", "{{instance}} duplicates"),
        ]),
        ("Gossip bytes sent", "Bps", [
            (f"rate(swarmd_gossip_sent_bytes_total{{{SEL}}}[1m])", "{{instance}}")]),
        ("Gossip messages rejected, by reason", "ops", [
            (f"sum by (reason) (rate(swarmd_gossip_rejected_total{{{SEL}}}[5m]))", "{{reason}}"),
            (f"sum by (reason) (rate(swarmd_gossip_peers_dropped_total{{{SEL}}}[5m]))",
             "peer dropped: {{reason}}")]),
        ("Status messages refused, by reason", "ops", [
            (f"sum by (reason) (rate(swarmd_status_refused_total{{{SEL}}}[5m]))", "{{reason}}")]),
    ]),
    ("Network", [
        ("Connections", "none", [(f"swarmd_connections{{{SEL}}}", "{{instance}}")]),
        ("DHT routing table", "none", [(f"swarmd_dht_routing_table_peers{{{SEL}}}", "{{instance}}")]),
        ("Connections refused and failed, by reason", "ops", [
            (f"sum by (reason) (rate(swarmd_net_connections_refused_total{{{SEL}}}[5m]))",
             "refused: {{reason}}"),
            (f"sum by (reason) (rate(swarmd_net_connections_failed_total{{{SEL}}}[5m]))",
             "failed: {{reason}}"),
        ]),
        ("Rendezvous (public DHT)", "none", [
            (f"increase(swarmd_rendezvous_lookups_total{{{SEL}}}[10m])", "{{instance}} lookups"),
            (f"increase(swarmd_rendezvous_providers_total{{{SEL}}}[10m])", "{{instance}} providers"),
            (f"increase(swarmd_rendezvous_idle_closed_total{{{SEL}}}[10m])", "{{instance}} idle closed"),
        ]),
        ("HTTP requests refused, by reason", "ops", [
            (f"sum by (reason) (rate(swarmd_http_refused_total{{{SEL}}}[5m]))", "{{reason}}")]),
    ]),
]


def dashboard():
    panels, next_id, y = [], 1, 0
    for row_title, row_panels in ROWS:
        panels.append({"type": "row", "title": row_title, "id": next_id, "collapsed": False,
                       "gridPos": {"x": 0, "y": y, "w": 24, "h": 1}, "panels": []})
        next_id += 1
        y += 1
        for i, (title, unit, targets) in enumerate(row_panels):
            panels.append({
                "type": "timeseries",
                "title": title,
                "id": next_id,
                "datasource": DS,
                "gridPos": {"x": (i % 3) * 8, "y": y + (i // 3) * 8, "w": 8, "h": 8},
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "options": {"legend": {"displayMode": "list", "placement": "bottom"},
                            "tooltip": {"mode": "multi"}},
                "targets": [{"datasource": DS, "expr": e, "legendFormat": legend,
                             "refId": chr(ord("A") + k)} for k, (e, legend) in enumerate(targets)],
            })
            next_id += 1
        y += ((len(row_panels) + 2) // 3) * 8
    return {
        "title": "swarmd",
        "uid": "swarmd-nodes",
        "description": "The nodes of a swarmd swarm: training, updates, SAPO, gossip, network "
                       "(docs/monitoring.md)",
        "tags": ["swarmd"],
        "editable": True,
        "schemaVersion": 38,
        "refresh": "30s",
        "time": {"from": "now-1h", "to": "now"},
        "templating": {"list": [
            {"type": "datasource", "name": "datasource", "label": "Prometheus",
             "query": "prometheus"},
            {"type": "query", "name": "instance", "label": "Node", "datasource": DS,
             "query": {"query": "label_values(swarmd_round, instance)", "refId": "instance"},
             "definition": "label_values(swarmd_round, instance)",
             "includeAll": True, "multi": True, "allValue": ".*", "refresh": 2,
             "current": {"text": "All", "value": "$__all"}},
        ]},
        "annotations": {"list": []},
        "panels": panels,
    }


if __name__ == "__main__":
    print(json.dumps(dashboard(), indent=2))
