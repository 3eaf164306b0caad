from django.apps import AppConfig


class FunnelConfig(AppConfig):
    name = "funnel"
    verbose_name = "Funnel"

    def ready(self):
        # Imported in ready(), not at the top: the watchman reaches the apps' models.
        from celery.signals import task_received, worker_ready, worker_shutting_down

        from . import watchman

        worker_ready.connect(watchman.start, weak=False, dispatch_uid="funnel-watchman-start")
        task_received.connect(watchman.heard, weak=False, dispatch_uid="funnel-watchman-heard")
        worker_shutting_down.connect(watchman.stop, weak=False, dispatch_uid="funnel-watchman-stop")
