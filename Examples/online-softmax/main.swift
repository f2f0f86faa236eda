import Lessons
print("lesson coming soon")
