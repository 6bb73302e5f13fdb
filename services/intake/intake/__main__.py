from intake.app import NAME, create_app
from intake.config import IntakeSettings
from shared.runtime import serve


def main() -> None:
    settings = IntakeSettings()
    serve(NAME, create_app(settings), settings)


main()
