"""The one door to the LLM and what passes through it: the prompt and client, the answer read, the offline writer,
the part-by-part rewrite, the gates, the output guard, the model's reading of the job, the truthfulness round.
"""
