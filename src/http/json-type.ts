/** The content type of every JSON answer, whatever the surface. */
export const JSON_TYPE = 'application/json; charset=utf-8';
