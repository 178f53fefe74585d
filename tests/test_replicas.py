import numpy as np
import tensorflow as tf

from keras_mrigan import replicas


def resolver(cluster, task_type="worker"):
    return tf.distribute.cluster_resolver.SimpleClusterResolver(
        tf.train.ClusterSpec(cluster), task_type=task_type, task_id=0)


def test_cluster_workers_counts_chief_and_workers_as_the_strategy_does():
    two = {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}
    assert replicas.cluster_workers(resolver(two)) == 2
    assert replicas.cluster_workers(resolver({**two, "chief": ["127.0.0.1:3"],
                                              "ps": ["127.0.0.1:4"]})) == 3
    assert replicas.cluster_workers(resolver({"worker": ["127.0.0.1:1"]})) == 1
    assert replicas.cluster_workers(resolver({})) == 1  # No cluster: one local worker.
    evaluator = {**two, "evaluator": ["127.0.0.1:5"]}
    assert replicas.cluster_workers(resolver(evaluator, task_type="evaluator")) == 1


def test_one_replica_outside_a_strategy():
    assert not replicas.spans_several_workers(tf.distribute.get_strategy())
    assert replicas.num_replicas() == 1
    values = tf.constant(np.arange(6.0))
    np.testing.assert_array_equal(replicas.local_slice(values), values)
    np.testing.assert_array_equal(replicas.all_reduce_sum(values), values)
