from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from core.hot_path.list_pages import lists_changed
from core.models import User
from cv.intake.questionnaires import resume_file_release_on_commit
from cv.models import CVQuestionnaire


@receiver(post_save, sender=CVQuestionnaire, dispatch_uid="cv_questionnaire_saved_list_changed")
@receiver(post_delete, sender=CVQuestionnaire, dispatch_uid="cv_questionnaire_deleted_list_changed")
def questionnaire_list_changed(sender, instance: CVQuestionnaire, origin=None, **kwargs) -> None:
    """Every change to a questionnaire (the API, the admin, retention) retires the cached pages of its
    owner's list. Not when the owner's account is being deleted along with it: the row goes too."""
    if getattr(origin, "model", type(origin)) is User:
        return
    lists_changed(user_id=instance.user_id)


@receiver(post_delete, sender=CVQuestionnaire, dispatch_uid="cv_questionnaire_delete_resume_file")
def delete_resume_file(sender, instance: CVQuestionnaire, **kwargs) -> None:
    """A deleted questionnaire (directly, or with its account) takes its CV file with it, once committed,
    unless another questionnaire still uses the file."""
    if not instance.resume:
        return
    # Kept while another of the owner's questionnaires shares it (made with resume_from).
    resume_file_release_on_commit(user_id=instance.user_id, name=instance.resume.name, storage=instance.resume.storage)
