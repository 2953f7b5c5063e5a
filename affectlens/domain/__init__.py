"""Your data, your domain: adapt the model to a user's labels, choose what to annotate next (active learning),
audit label noise, compare two models. Commands: ``affectlens adapt``, ``select``, ``audit-labels``, ``compare``.
"""
