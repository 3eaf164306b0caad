

urlpatterns: list = []
