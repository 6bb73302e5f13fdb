from classifier.app import NAME, create_app
from classifier.config import ClassifierSettings
from shared.runtime import serve


def main() -> None:
    settings = ClassifierSettings()
    serve(NAME, create_app(settings), settings)


main()
