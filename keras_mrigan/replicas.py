"""Random draws and batch statistics under ``tf.distribute``.

Every replica runs ``GAN.train_step`` on its slice of the global batch. Random draws are made
for the whole global batch, identically on every replica (they share the seed state), and
each replica keeps its slice; statistics of the batch are all-reduced; losses are divided by
the number of replicas, whose gradients the optimizers sum. One replica or many, a global
batch gives the same update.
"""

import tensorflow as tf


def num_replicas():
    """The number of replicas in sync (1 outside a distributed step)."""
    context = tf.distribute.get_replica_context()
    return context.num_replicas_in_sync if context else 1


def local_slice(values):
    """This replica's slice of a global-batch tensor (all of it without replicas)."""
    replicas = num_replicas()
    if replicas == 1:
        return values
    size = tf.shape(values)[0] // replicas
    replica = tf.distribute.get_replica_context().replica_id_in_sync_group
    start = tf.cast(replica, tf.int32) * size
    return values[start : start + size]


def all_reduce_sum(values):
    """``values`` summed over the replicas (unchanged with one)."""
    if num_replicas() > 1:
        return tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, values)
    return values


def cluster_workers(cluster_resolver):
    """The number of training workers of a cluster: its chief and worker tasks, as
    ``MultiWorkerMirroredStrategy`` counts them (an evaluator counts its own job); at least 1
    (an empty cluster is one local worker).

    Args:
        cluster_resolver: a ``tf.distribute.cluster_resolver.ClusterResolver``.
    """
    spec = cluster_resolver.cluster_spec()
    jobs = ("evaluator",) if cluster_resolver.task_type == "evaluator" else ("chief", "worker")
    return max(sum(spec.num_tasks(job) for job in jobs if job in spec.jobs), 1)


def spans_several_workers(strategy):
    """Whether ``strategy`` is a MultiWorkerMirroredStrategy spanning several workers."""
    return (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            and cluster_workers(strategy.cluster_resolver) > 1)
