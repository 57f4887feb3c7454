"""Cover letters: written by the model or offline from facts the CV states."""
