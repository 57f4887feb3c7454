"""Values and functions tests share (fixtures stay in the conftest.py files)."""

# The password every test user is created with (the factories and the root conftest's users).
TEST_PASSWORD = "correct-Horse-battery-9"
