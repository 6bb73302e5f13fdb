from notifier.app import NAME, create_app
from notifier.config import NotifierSettings
from shared.runtime import serve


def main() -> None:
    settings = NotifierSettings()
    serve(NAME, create_app(settings), settings)


main()
