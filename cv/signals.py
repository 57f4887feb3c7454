from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from cv.models import CVQuestionnaire


@receiver(post_delete, sender=CVQuestionnaire, dispatch_uid="cv_questionnaire_delete_resume_file")
def delete_resume_file(sender, instance: CVQuestionnaire, **kwargs) -> None:
    """A deleted questionnaire (directly, or with its account) takes its CV file with it, once committed."""
    if not instance.resume:
        return
    storage, name = instance.resume.storage, instance.resume.name
    transaction.on_commit(lambda: storage.delete(name), robust=True)
