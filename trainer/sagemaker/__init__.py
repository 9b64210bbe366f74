"""Running ``checkout train`` as a SageMaker training job.

* :mod:`trainer.sagemaker.env` maps SageMaker's ``SM_*`` variables onto the trainer's options (used by
  :func:`trainer.train.main`; a no-op elsewhere).
* ``entry.py`` is the job's entry point inside the training image; ``launch.py`` (run on a workstation)
  submits the job with the SageMaker Python SDK's PyTorch estimator. Neither imports ``sagemaker`` at module
  level, and nothing in the trainer or its tests needs it.
"""
